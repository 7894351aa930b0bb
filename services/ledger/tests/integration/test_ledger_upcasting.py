"""Upcasting reaches the read model: a month of books is written as ``.v1`` events, then the
event classes move to ``.v2`` (a new required field) and the read model is rebuilt from Kafka.
Without the upcasters the old events no longer read (they are dead-lettered and the reports
change); with them every report is the same as before."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import pytest
from ledger.bootstrap import Ledger
from ledger.domain.events import AccountOpened, JournalEntryPosted
from shared_kernel.codec import EventCodec
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import Headers

from .test_ledger_reports import keep_the_books, snapshot

pytestmark = pytest.mark.integration


@dataclass(frozen=True, kw_only=True)
class AccountOpenedV2(AccountOpened):
    """v2: an account carries a description (v1 accounts had none)."""

    version: ClassVar[int] = 2

    description: str


@dataclass(frozen=True, kw_only=True)
class JournalEntryPostedV2(JournalEntryPosted):
    """v2: an entry says how it was entered (every v1 entry was entered by hand)."""

    version: ClassVar[int] = 2

    entered_via: str


def with_description(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "description": ""}


def entered_by_hand(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "entered_via": "manual"}


async def rebuild_every_read_model(ledger: Ledger) -> None:
    for projection in ledger.runtime.projections:
        await rebuild(
            projection,
            ledger.runtime.read_models[projection.name],
            ledger.runtime.settings.kafka_bootstrap_servers,
            ledger.runtime.dead_letters(),
        )


def move_to_v2(codec: EventCodec, *, upcasters: bool) -> None:
    codec.register(AccountOpenedV2)
    codec.register(JournalEntryPostedV2)
    if upcasters:
        codec.register_upcaster(AccountOpened.event_type, 1, with_description)
        codec.register_upcaster(JournalEntryPosted.event_type, 1, entered_by_hand)


async def test_v1_events_rebuild_to_the_same_reports_once_the_classes_are_v2(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    ids, _ = await keep_the_books(ledger_client, as_role)
    accountant = as_role("accountant")
    before = await snapshot(ledger_client, accountant, ids)
    assert len(before["/v1/accounts {}"]["items"]) == len(ids)
    ledger: Ledger = ledger_client.ledger  # type: ignore[attr-defined]
    codec = ledger.runtime.codec
    assert all(getattr(p, "codec", None) is codec for p in ledger.runtime.projections)

    # The classes are v2, the stored events v1, and no upcaster: the old events do not read.
    move_to_v2(codec, upcasters=False)
    await rebuild_every_read_model(ledger)
    accounts = (await ledger_client.get("/v1/accounts", headers=accountant)).json()
    assert accounts["items"] == []

    move_to_v2(codec, upcasters=True)
    await rebuild_every_read_model(ledger)
    assert await snapshot(ledger_client, accountant, ids) == before
