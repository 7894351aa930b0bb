"""Every event on every topic validates (issue 15): after the other e2e modules (this one's name
sorts last), every record of every topic of every system they started is read from offset
zero and checked as a data team would: a back-office CloudEvent with all its attributes,
``dataschema`` naming the committed schema of its ``type``, and ``data`` valid against that
JSON Schema (``contracts_on_topics``). Dead-letter topics hold copies of refused records on
purpose: their records are checked for the ``dlq.*`` headers only, and listed.

Run alone, it first plays a short office story on a system of its own, so that it never
passes on empty topics; finding no record at all fails."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from .conftest import System
from .contracts_on_topics import check_topics, committed_contracts, read_namespaces
from .office_story import Office, ok

pytestmark = pytest.mark.e2e


async def a_short_office_story(system: System) -> None:
    """A deal cleared and booked, a posting that breaches the limit, its incident: events of
    every service, their inboxes and the gateway."""
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as gateway:
        office = await Office.open(gateway)
        limit_id = await office.limit(50_000)
        deal = (await office.submit_deal(40_000)).json()["id"]
        await office.clearance_is(deal, "cleared")
        ok(await office.approve(deal))
        ok(await office.post_entry(20_000), 201)
        await office.incident_for((await office.breach_of(limit_id))["id"])


def test_every_record_of_every_e2e_topic_keeps_its_contract(
    request: pytest.FixtureRequest, kafka_bootstrap: str, e2e_topic_namespaces: list[str]
) -> None:
    # Not a coroutine: a system of its own, when needed, is an async fixture that pytest
    # starts only outside a running event loop.
    if not e2e_topic_namespaces:  # run alone: make some traffic first
        asyncio.run(a_short_office_story(request.getfixturevalue("module_system")))
    contracts = committed_contracts()
    assert contracts, "no committed schemas under services/*/contracts/"
    namespaces = sorted(set(e2e_topic_namespaces))
    read = asyncio.run(read_namespaces(kafka_bootstrap, namespaces))
    checked = check_topics(read, contracts, namespaces)

    total = sum(checked.records.values())
    assert total > 0, f"no record at all on the topics of {namespaces}: nothing was checked"
    print(  # the -s / -rA summary of what was checked
        f"\n{total} records on {len(read)} topics of {len(namespaces)} systems; "
        f"{len(checked.types)} event types; dead letters: {checked.dead_letters or 'none'}"
    )
    shown = "\n  ".join(str(f) for f in checked.failures[:50])
    assert not checked.failures, (
        f"{len(checked.failures)} contract failures on the e2e topics (first 50):\n  {shown}"
    )
