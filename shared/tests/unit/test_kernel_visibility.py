"""Who sees whose records: full readers outside the front office see all, everyone else only
their own; a stranger's record is NotFound, and a list query is narrowed to the owner."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from shared_kernel.errors import NotFound
from shared_kernel.identity import Caller
from shared_kernel.roles import Role
from shared_kernel.visibility import Visibility

pytestmark = pytest.mark.unit

FULL_READERS = frozenset({Role.ACCOUNTANT, Role.AUDITOR})
requests = sa.table("requests", sa.column("submitted_by"), sa.column("status"))


def caller(office: str, *roles: str, subject: str = "tina") -> Caller:
    return Caller(subject=subject, roles=frozenset(roles), office=office, request_id="r")


@pytest.mark.parametrize(
    ("identity", "owner"),
    [
        (caller("back", "accountant"), None),
        (caller("none", "auditor"), None),
        (caller("front", "trader"), "tina"),
        (caller("front", "customer-service", subject="carl"), "carl"),
        # A role the service does not count as a full reader sees its own only (fail closed).
        (caller("back", "it-support"), "tina"),
        # Front office never sees all, whatever else it holds.
        (caller("front", "trader", "auditor"), "tina"),
    ],
    ids=["back office", "auditor", "trader", "customer service", "other", "front auditor"],
)
def test_only_full_readers_outside_the_front_office_see_everything(
    identity: Caller, owner: str | None
) -> None:
    visibility = Visibility.of(identity, FULL_READERS)

    assert visibility.owner == owner
    assert visibility.everything is (owner is None)


def test_a_strangers_record_is_not_found_and_ones_own_is_shown() -> None:
    own = Visibility(owner="tina")

    own.require("tina", "request 1 does not exist", field="request_id")
    with pytest.raises(NotFound) as refused:
        own.require("tom", "request 1 does not exist", field="request_id")
    assert (refused.value.detail, refused.value.field) == ("request 1 does not exist", "request_id")
    Visibility(owner=None).require("tom", "request 1 does not exist", field="request_id")


def test_a_list_is_narrowed_to_the_owner_before_the_clients_filters() -> None:
    query = sa.select(requests).where(requests.c.status == "pending")

    narrowed = Visibility(owner="tina").restrict(query, requests.c.submitted_by)
    unchanged = Visibility(owner=None).restrict(query, requests.c.submitted_by)

    assert "requests.submitted_by = :submitted_by_1" in str(narrowed)
    assert narrowed.compile().params["submitted_by_1"] == "tina"
    assert str(unchanged) == str(query)
