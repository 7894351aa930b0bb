"""The Operator aggregate and its event, as they travel through the kernel's codec."""

import pytest
from gateway.app.demo import demo_operators
from gateway.domain.events import EVENTS, OperatorRegistered
from gateway.domain.operator import Operator
from gateway.domain.passwords import check_password
from gateway.domain.roles import ROLES, Office
from shared_kernel.codec import EventCodec
from shared_kernel.errors import DomainError


def test_registering_records_who_with_which_roles_and_office() -> None:
    operator = Operator.register("ada", " Ada Lovelace ", frozenset({"controller", "accountant"}))

    assert operator.id == "operator:ada"
    assert operator.pending_events() == [
        OperatorRegistered(
            username="ada",
            display_name="Ada Lovelace",
            roles=("accountant", "controller"),
            office="back",
        )
    ]


def test_an_operator_is_rebuilt_from_its_stored_events() -> None:
    codec = EventCodec(EVENTS)
    registered = Operator.register("bo", "Bo", frozenset({"trader"})).pending_events()
    stored = [codec.encode(event) for event in registered]

    operator = Operator.load(
        "operator:bo", [codec.decode("gateway.OperatorRegistered", 1, data) for data in stored]
    )

    assert (operator.username, operator.roles, operator.office) == (
        "bo",
        frozenset({"trader"}),
        Office.FRONT,
    )
    assert operator.version == 1
    assert set(stored[0]) == {"username", "display_name", "roles", "office"}  # no secrets


def test_registration_refuses_segregation_of_duties_violations() -> None:
    with pytest.raises(DomainError, match="segregation of duties"):
        Operator.register("eve", "Eve", frozenset({"trader", "controller"}))


@pytest.mark.parametrize(
    "username", ["A", "1ab", "ab cd", "x", "ab/cd", "a" * 64, "nl\n", "ab\x00"]
)
def test_registration_refuses_malformed_usernames(username: str) -> None:
    with pytest.raises(DomainError) as refused:
        Operator.register(username, "Someone", frozenset({"admin"}))
    assert refused.value.field == "username"


def test_short_passwords_are_refused() -> None:
    with pytest.raises(DomainError) as refused:
        check_password("too-short")
    assert refused.value.field == "password"


def test_there_is_one_valid_demo_operator_per_role_and_a_second_for_four_eyes_roles() -> None:
    demos = demo_operators()

    assert {d.username for d in demos} == ROLES | {"risk-officer-2", "it-support-2"}
    for demo in demos:
        (role,) = demo.roles
        assert demo.username in (role, f"{role}-2") and demo.password == f"demo-{demo.username}"
        check_password(demo.password)
        Operator.register(demo.username, demo.display_name, demo.roles)
