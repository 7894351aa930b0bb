"""Administering an operator: roles granted and revoked under segregation of duties, disabling,
and the rules that keep an administrator from administering themselves."""

from collections.abc import Callable

import pytest
from gateway.domain.events import (
    EVENTS,
    OperatorDisabled,
    OperatorRegistered,
    OperatorRoleGranted,
    OperatorRoleRevoked,
)
from gateway.domain.operator import Operator
from gateway.domain.roles import IdentityBreaksSegregation, Office, SegregationOfDutiesViolated
from shared_kernel.codec import EventCodec
from shared_kernel.domain import DomainEvent
from shared_kernel.errors import ConcurrencyConflict, DomainError, PermissionDenied

pytestmark = pytest.mark.unit


def saved(operator: Operator, *earlier: DomainEvent) -> Operator:
    """The operator as the next command loads it: rebuilt from its stored events."""
    codec = EventCodec(EVENTS)
    history = [
        codec.decode(e.event_type, e.version, codec.encode(e))
        for e in [*earlier, *operator.pending_events()]
    ]
    return Operator.load(operator.id, history)


def trader() -> Operator:
    return saved(Operator.register("tom", "Tom", frozenset({"trader"})))


def test_granting_a_back_office_role_to_a_front_office_operator_is_refused() -> None:
    operator = trader()

    with pytest.raises(SegregationOfDutiesViolated) as refused:
        operator.grant_role("accountant", by="admin")

    assert refused.value.code == "SegregationOfDuties"
    assert "segregation of duties" in refused.value.detail
    assert operator.pending_events() == [] and operator.roles == {"trader"}


def test_a_role_of_the_same_office_is_granted() -> None:
    operator = trader()

    operator.grant_role("customer-service", by="admin")

    assert operator.pending_events() == [
        OperatorRoleGranted("tom", "customer-service", ("customer-service", "trader"), "front"),
    ]
    registered = OperatorRegistered("tom", "Tom", ("trader",), "front")
    assert saved(operator, registered).roles == {"trader", "customer-service"}


@pytest.mark.parametrize("oversight", ["admin", "auditor"])
def test_an_oversight_role_is_no_bridge_to_the_other_office(oversight: str) -> None:
    operator = trader()

    with pytest.raises(SegregationOfDutiesViolated) as refused:
        operator.grant_role(oversight, by="admin")

    assert oversight in refused.value.detail and "trader" in refused.value.detail
    assert operator.pending_events() == []


def legacy(*roles: str, office: str) -> Operator:
    """An operator as code before the complete rule stored it (roles that break it)."""
    codec = EventCodec(EVENTS)
    registered = OperatorRegistered("tom", "Tom", tuple(sorted(roles)), office)
    history = [codec.decode(registered.event_type, 1, codec.encode(registered))]
    return Operator.load("operator:tom", history)


def test_an_operator_stored_breaking_the_rule_loads_but_may_not_act() -> None:
    operator = legacy("admin", "trader", office="front")

    with pytest.raises(IdentityBreaksSegregation) as refused:
        operator.ensure_segregated()

    assert refused.value.status == 403 and refused.value.code == "SegregationOfDuties"
    assert "admin" in refused.value.detail and "trader" in refused.value.detail
    with pytest.raises(SegregationOfDutiesViolated):
        operator.grant_role("customer-service", by="root")


def test_revoking_repairs_a_stored_violation_one_role_at_a_time() -> None:
    operator = legacy("admin", "auditor", "trader", office="front")

    operator.revoke_role("admin", by="root")  # still auditor + trader: the office stays
    operator.revoke_role("trader", by="root")

    assert operator.pending_events() == [
        OperatorRoleRevoked("tom", "admin", ("auditor", "trader"), "front"),
        OperatorRoleRevoked("tom", "trader", ("auditor",), "oversight"),
    ]
    assert operator.office is Office.OVERSIGHT
    operator.ensure_segregated()


def test_an_office_stored_as_none_is_read_as_oversight() -> None:
    assert legacy("auditor", office="none").office is Office.OVERSIGHT


def test_granting_a_held_role_or_revoking_a_missing_one_changes_nothing() -> None:
    operator = trader()

    operator.grant_role("trader", by="admin")
    operator.revoke_role("customer-service", by="admin")

    assert operator.pending_events() == []


def test_the_last_role_cannot_be_revoked() -> None:
    with pytest.raises(DomainError) as refused:
        trader().revoke_role("trader", by="admin")

    assert refused.value.code == "LastRole"


def test_unknown_roles_are_refused() -> None:
    with pytest.raises(DomainError, match="wizard"):
        trader().grant_role("wizard", by="admin")


def test_a_disabled_operator_stays_disabled_and_the_event_carries_no_secret() -> None:
    operator = trader()

    operator.disable(by="admin")
    operator.disable(by="admin")

    assert operator.pending_events() == [OperatorDisabled("tom")]
    assert not operator.enabled
    assert EventCodec(EVENTS).encode(OperatorDisabled("tom")) == {"username": "tom"}


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.grant_role("customer-service", by="tom"),
        lambda o: o.revoke_role("trader", by="tom"),
        lambda o: o.disable(by="tom"),
    ],
)
def test_nobody_administers_their_own_access(change: Callable[[Operator], None]) -> None:
    with pytest.raises(PermissionDenied) as refused:
        change(trader())

    assert refused.value.code == "SelfAdministration"


def test_a_change_against_a_stale_version_is_refused() -> None:
    operator = trader()  # version 1

    with pytest.raises(ConcurrencyConflict):
        operator.grant_role("customer-service", by="admin", expected_version=0)
    operator.grant_role("customer-service", by="admin", expected_version=1)
