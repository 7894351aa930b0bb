"""A new version of a published event, through every reader of it in the office (issue 15).

``ledger.JournalEntryPosted`` moves to ``.v2`` (a new field, ``entered_via``; every v1 entry
was entered by hand), and every consumer of it learns v2 with the kernel's upcaster v1 -> v2
before the ledger writes any v2 (readers first, as a rollout must go): the ledger's own read
model (``LedgerView``, its codec), the risk service's inbox of ledger events
(``LedgerExposures``, its own published-language classes) and the gateway's case timeline
(``CaseTimeline``, its own classes). Then the ledger posts one entry as ``.v1`` (an old event
still on the topic) and, its domain now recording v2, a second, twin entry as a native
``.v2``. Each reader makes the same of both: the same exposure in risk (through the inbox:
without the upcaster the v1 entry would be dead-lettered and counted nowhere), the same
journal reads in the ledger after a rebuild that reads the v1 event through the upcaster, the
same case-timeline row (a rebuild of a real timeline read model).

The same for ``risk.DealCleared`` (the ledger's inbox of risk's answers, risk's deal view,
the timeline). The per-service upcasting tests (``services/*/tests/integration/
test_*_upcasting.py``) cover the other read models of each service with types of their own.
The tickets inboxes: ``services/tickets/tests/integration/test_tickets_upcasting_inboxes.py``.
The gateway's audit read model: ``services/gateway/tests/integration/test_gateway_upcasting.py``.
Risk's inboxes of tickets events (the KRIs): ``test_risk_upcasting_tickets_events``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa
from gateway.domain import case_ledger_events, case_risk_events
from gateway.domain.case_events import CASE_EVENTS
from gateway.projections.case_timeline import CaseTimeline, case_events
from ledger.bootstrap import Ledger, LedgerSettings
from ledger.domain import events as ledger_events
from ledger.domain import journal
from ledger.domain import risk_events as ledger_risk_events
from ledger.main import create_app as create_ledger_app
from risk.bootstrap import Risk, RiskSettings
from risk.domain import deal_events as risk_deal_events
from risk.domain import deals as risk_deals
from risk.domain import ledger_events as risk_ledger_events
from shared_kernel import schema
from shared_kernel.codec import EventCodec
from shared_kernel.domain import DomainEvent
from shared_kernel.identity import IdentitySigner
from shared_kernel.kafka import events_topic
from shared_kernel.readmodel import ReadModelStore
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import CreateDatabase, Headers, running_app

from .conftest import running_risk
from .limits_ledger import Books, LedgerCaller, ledger_settings_for
from .test_risk_limits_exposures import approved_limit, eventually, stored_exposures

pytestmark = pytest.mark.integration

POSTED = ledger_events.JournalEntryPosted.event_type


@dataclass(frozen=True, kw_only=True)
class JournalEntryPostedV2(ledger_events.JournalEntryPosted):
    """The ledger's v2: an entry says how it was entered."""

    version: ClassVar[int] = 2

    entered_via: str = "manual"


def entered_by_hand(data: dict[str, Any]) -> dict[str, Any]:
    """The upcaster v1 -> v2: what every v1 entry was."""
    return {**data, "entered_via": "manual"}


def learn_v2(codec: EventCodec) -> None:
    """A reader's codec: its class is v2 now (``reads_v2``), the upcaster brings v1 there."""
    codec.register_upcaster(POSTED, 1, entered_by_hand)


def reads_v2(monkeypatch: pytest.MonkeyPatch, cls: type[DomainEvent]) -> None:
    """A reader's own class of the event moves to v2 in place, as its developer would do it:
    it reads none of the new fields, only the version changes."""
    monkeypatch.setattr(cls, "version", 2)


@pytest.fixture
async def ledger_settings(
    create_database: CreateDatabase,
    kafka_bootstrap: str,
    topic_namespace: str,
    identity_keys: tuple[Path, Path],
) -> LedgerSettings:
    return await ledger_settings_for(
        create_database, kafka_bootstrap, topic_namespace, identity_keys
    )


async def rebuilt_ledger_reads(
    ledger: Ledger, client: httpx.AsyncClient, headers: dict[str, str], entries: list[str]
) -> list[Any]:
    for projection in ledger.runtime.projections:
        report = await rebuild(
            projection,
            ledger.runtime.read_models[projection.name],
            ledger.runtime.settings.kafka_bootstrap_servers,
            ledger.runtime.dead_letters(),
        )
        assert report.poisoned == 0, report
    return await ledger_reads(client, headers, entries)


async def ledger_reads(
    client: httpx.AsyncClient, headers: dict[str, str], entries: list[str]
) -> list[Any]:
    reads = [(await client.get(f"/v1/journal-entries/{e}", headers=headers)) for e in entries]
    accounts = await client.get("/v1/accounts", headers=headers)
    assert all(r.status_code == 200 for r in [*reads, accounts]), [r.text for r in reads]
    return [*(r.json() for r in reads), accounts.json()]


async def timeline_rows(
    risk: Risk, namespace: str, codec: EventCodec, event_type: str = POSTED
) -> dict[UUID, Any]:
    """A real case-timeline read model of the ledger and risk topics (in the risk database:
    any database of the kernel holds read models), built from offset zero: its rows of
    ``event_type``."""
    topics = [events_topic(service, namespace) for service in ("ledger", "risk")]
    timeline = CaseTimeline(topics, codec)
    name = f"upcast_timeline_{uuid4().hex[:8]}"
    store = ReadModelStore(risk.runtime.engine, name, timeline.metadata)
    report = await rebuild(
        timeline, store, risk.settings.kafka_bootstrap_servers, risk.runtime.dead_letters()
    )
    assert report.poisoned == 0, report
    async with store.reading() as conn:
        where = case_events.c.event_type == event_type
        return {
            row.event_id: row for row in await conn.execute(sa.select(case_events).where(where))
        }


async def test_a_v1_entry_and_its_native_v2_twin_read_the_same_in_every_consumer(
    ledger_settings: LedgerSettings,
    risk_settings: RiskSettings,
    identity_signer: IdentitySigner,
    topic_namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old_party, new_party = f"OLD-{uuid4().hex[:6]}", f"NEW-{uuid4().hex[:6]}"
    async with running_app(create_ledger_app(ledger_settings), "ledger") as ledger_client:
        ledger: Ledger = ledger_client.ledger  # type: ignore[attr-defined]
        books = await Books(ledger_client, LedgerCaller(identity_signer)).open()
        async with running_risk(risk_settings) as risk_client:
            risk: Risk = risk_client.risk  # type: ignore[attr-defined]
            [inbox] = [h for h in risk.runtime.inboxes if h.name == "ledger_exposures"]
            # The readers learn v2 first: risk's inbox and the gateway's timeline classes.
            reads_v2(monkeypatch, risk_ledger_events.JournalEntryPosted)
            reads_v2(monkeypatch, case_ledger_events.JournalEntryPosted)
            learn_v2(inbox.codec)

            old = await books.post(300_00, counterparty=old_party, desk="FX")  # a v1 event
            ledger.runtime.codec.register(JournalEntryPostedV2)  # the ledger's class: v2
            learn_v2(ledger.runtime.codec)
            monkeypatch.setattr(journal, "JournalEntryPosted", JournalEntryPostedV2)
            new = await books.post(300_00, counterparty=new_party, desk="FX")  # native v2

            async def both_counted() -> dict[Any, Any] | None:
                seen = await stored_exposures(risk)
                wanted = {k: v for k, v in seen.items() if {k[1]} & {old_party, new_party}}
                return wanted if len(wanted) == 4 else None  # 2 parties x (cp, cp+desk)

            counted = await eventually(both_counted, "both entries in risk's exposures")
            assert counted == {
                ("counterparty", old_party, None, "EUR"): (300_00, 0),
                ("counterparty_desk", old_party, "FX", "EUR"): (300_00, 0),
                ("counterparty", new_party, None, "EUR"): (300_00, 0),
                ("counterparty_desk", new_party, "FX", "EUR"): (300_00, 0),
            }

            # The ledger stored one v1 and one v2, and its read model answers the same
            # before and after a rebuild that reads the v1 through the upcaster.
            assert await stored_versions(ledger, [old, new]) == [1, 2]
            before = await ledger_reads(ledger_client, books.accountant, [old, new])
            after = await rebuilt_ledger_reads(ledger, ledger_client, books.accountant, [old, new])
            assert after == before
            twins = [twin_view(read) for read in before[:2]]
            assert twins[0] == twins[1] and twins[0]["lines"], twins

            # The case timeline: with v2 and the upcaster, the v1 entry has the same row as its
            # twin; without the upcaster it would fall back to the generic summary.
            codec = EventCodec(CASE_EVENTS)
            learn_v2(codec)
            rows = await timeline_rows(risk, topic_namespace, codec)
            old_row, new_row = [rows[await event_id(ledger, e)] for e in (old, new)]
            as_twin = old_row.summary.replace(old_party, new_party)
            for own in ("voucher_number", "text"):  # D-1 -> D-2, Deal 1 -> Deal 2
                as_twin = as_twin.replace(before[0][own], before[1][own])
            assert as_twin == new_row.summary, (old_row.summary, new_row.summary)
            assert "Journal entry" in old_row.summary and old_party in old_row.summary
            without_upcaster = await timeline_rows(risk, topic_namespace, EventCodec(CASE_EVENTS))
            generic = without_upcaster[old_row.event_id]
            assert generic.summary != old_row.summary


#: What is each twin entry's own in the ledger's answer; the rest (lines, dates, who) is equal.
OWN = ("entry_id", "voucher_number", "text", "metadata", "recorded_at", "correlation_id")


def twin_view(read: dict[str, Any]) -> dict[str, Any]:
    """An entry as the ledger answers it, without what is its own."""
    own = (*OWN, "position")
    lines = [{k: v for k, v in line.items() if k not in own} for line in read["lines"]]
    return {k: v for k, v in read.items() if k not in own} | {"lines": lines}


async def stored_versions(ledger: Ledger, entries: list[str]) -> list[int]:
    async with ledger.runtime.engine.connect() as conn:
        rows = dict(
            (
                await conn.execute(
                    sa.select(schema.events.c.stream_id, schema.events.c.event_version).where(
                        schema.events.c.event_type == POSTED,
                        schema.events.c.stream_id.in_(entries),
                    )
                )
            ).all()
        )
    return [rows[e] for e in entries]


async def event_id(ledger: Ledger, entry: str) -> UUID:
    async with ledger.runtime.engine.connect() as conn:
        found = await conn.execute(
            sa.select(schema.events.c.event_id).where(
                schema.events.c.event_type == POSTED, schema.events.c.stream_id == entry
            )
        )
        return UUID(str(found.scalar_one()))


CLEARED = risk_deal_events.DealCleared.event_type


@dataclass(frozen=True, kw_only=True)
class DealClearedV2(risk_deal_events.DealCleared):
    """Risk's v2 of a clearance: it says what cleared the deal."""

    version: ClassVar[int] = 2

    cleared_by: str = "limits"


def cleared_by_limits(data: dict[str, Any]) -> dict[str, Any]:
    """The upcaster v1 -> v2: every v1 clearance came from the limits."""
    return {**data, "cleared_by": "limits"}


async def test_a_v1_clearance_and_its_native_v2_twin_read_the_same_in_every_consumer(
    ledger_settings: LedgerSettings,
    risk_settings: RiskSettings,
    identity_signer: IdentitySigner,
    as_role: Headers,
    topic_namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``risk.DealCleared`` v1 -> v2 through its readers: the ledger's inbox of risk's answers
    (``RiskClearances``: the booking request is cleared), risk's own deal view (rebuilt) and
    the case timeline. Two counterparties with equal limits, so that the twins are equal."""
    parties = [f"OLD-{uuid4().hex[:6]}", f"NEW-{uuid4().hex[:6]}"]
    async with running_app(create_ledger_app(ledger_settings), "ledger") as ledger_client:
        ledger: Ledger = ledger_client.ledger  # type: ignore[attr-defined]
        books = await Books(ledger_client, LedgerCaller(identity_signer)).open()
        async with running_risk(risk_settings) as risk_client:
            risk: Risk = risk_client.risk  # type: ignore[attr-defined]
            limits = [
                (
                    await approved_limit(
                        risk_client,
                        as_role,
                        dimension="counterparty",
                        counterparty=party,
                        amount=1000_00,
                    )
                )[0]
                for party in parties
            ]
            [inbox] = [h for h in ledger.runtime.inboxes if h.name == "risk_clearances"]
            reads_v2(monkeypatch, ledger_risk_events.DealCleared)
            reads_v2(monkeypatch, case_risk_events.DealCleared)
            inbox.codec.register_upcaster(CLEARED, 1, cleared_by_limits)

            old = await books.submit(300_00, counterparty=parties[0])  # cleared as v1
            await clearance_of(books, old, "cleared")
            risk.runtime.codec.register(DealClearedV2)
            risk.runtime.codec.register_upcaster(CLEARED, 1, cleared_by_limits)
            monkeypatch.setattr(risk_deals, "DealCleared", DealClearedV2)
            new = await books.submit(300_00, counterparty=parties[1])  # cleared as native v2
            await clearance_of(books, new, "cleared")
            assert await versions_of(risk, CLEARED, [old, new]) == [1, 2]

            officer = as_role("risk-officer")
            deals = [await deal_view(risk_client, officer, r) for r in (old, new)]
            for projection in risk.runtime.projections:
                report = await rebuild(
                    projection,
                    risk.runtime.read_models[projection.name],
                    risk.settings.kafka_bootstrap_servers,
                    risk.runtime.dead_letters(),
                )
                assert report.poisoned == 0, report
            assert [await deal_view(risk_client, officer, r) for r in (old, new)] == deals
            assert deals[0]["status"] == deals[1]["status"] == "cleared", deals

            codec = EventCodec(CASE_EVENTS)
            codec.register_upcaster(CLEARED, 1, cleared_by_limits)
            rows = list((await timeline_rows(risk, topic_namespace, codec, CLEARED)).values())
            summaries = sorted(row.summary for row in rows)
            assert len(summaries) == 2, summaries
            assert summaries[0].replace(limits[0], limits[1]) == summaries[1].replace(
                limits[0], limits[1]
            ), summaries
            assert all("Deal cleared: within limit" in s for s in summaries), summaries


async def clearance_of(books: Books, request_id: str, status: str) -> dict[str, Any]:
    """The ledger's booking request once risk's answer has reached it (30 s at most)."""
    for _ in range(300):
        view = await books.client.get(
            f"/v1/booking-requests/{request_id}", headers=books.accountant
        )
        assert view.status_code in (200, 404), view.text  # 404: not in the read model yet
        if view.status_code == 200 and view.json()["clearance"]["status"] == status:
            body: dict[str, Any] = view.json()
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"booking request {request_id}: clearance never {status}")


async def deal_view(client: httpx.AsyncClient, headers: dict[str, str], request_id: str) -> Any:
    for _ in range(300):
        answer = await client.get(f"/v1/deals/{request_id}", headers=headers)
        if answer.status_code == 200:
            return answer.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"deal {request_id} never in risk's deal view")


async def versions_of(risk: Risk, event_type: str, subjects: list[str]) -> list[int]:
    """The stored version of each subject's event of ``event_type`` (risk's store)."""
    async with risk.runtime.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                schema.events.c.data["request_id"].astext, schema.events.c.event_version
            ).where(schema.events.c.event_type == event_type)
        )
        found: dict[str, int] = {subject: version for subject, version in rows}
    return [found[s] for s in subjects]
