"""A front-office requester sees only their own tickets, and a stranger's ticket does not
reveal that it exists, not even through a stale If-Match on a reply."""

from __future__ import annotations

import uuid

import httpx
import pytest
from shared_kernel.identity import IDENTITY_HEADER, Caller, IdentitySigner
from shared_kernel.testing import Headers

from .tickets_api import open_ticket, post, read

pytestmark = pytest.mark.integration


async def test_a_reply_with_a_stale_version_to_a_strangers_ticket_is_404(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    tina = as_role("trader", "front", subject="user:tina")
    tom = as_role("trader", "front", subject="user:tom")
    opened = await open_ticket(tickets_client, tina, title="Screen flickers")
    path = f"/v1/tickets/{opened['id']}"

    stale = await post(tickets_client, tom, f"{path}/replies", {"body": "me too"}, version=99)
    current = await post(tickets_client, tom, f"{path}/replies", {"body": "me too"}, version=1)
    own_stale = await post(tickets_client, tina, f"{path}/replies", {"body": "?"}, version=99)

    assert (stale.status_code, stale.json()["code"]) == (404, "NotFound"), stale.text
    assert current.status_code == 404
    assert own_stale.status_code == 412  # the requester learns about the newer version


async def test_a_front_office_caller_sees_only_their_own_whatever_else_they_hold(
    tickets_client: httpx.AsyncClient, as_role: Headers, identity_signer: IdentitySigner
) -> None:
    """An identity of the front office that also holds a full-reading role (which the
    gateway refuses to issue) still reads only its own tickets, without internal notes."""
    agent = as_role("it-support")
    ava = Caller("user:ava", frozenset({"trader", "auditor"}), "front", str(uuid.uuid4()))
    front_auditor = {IDENTITY_HEADER: identity_signer.sign(ava, audience="tickets")}
    own = await open_ticket(
        tickets_client, as_role("trader", "front", subject="user:ava"), title="Mine"
    )
    other = await open_ticket(tickets_client, agent, title="Not mine")

    page = await read(tickets_client, front_auditor, "/v1/tickets", other["position"])
    strangers = await tickets_client.get(f"/v1/tickets/{other['id']}", headers=front_auditor)

    assert [t["ticket_id"] for t in page["items"]] == [own["id"]]
    assert strangers.status_code == 404
