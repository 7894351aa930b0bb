"""The ledger's books at scale: a trial balance over 1,000,000 journal lines, and the
verification of the hash chain over 1,000,000 journal entries.

How the data is made (a few minutes): 200 accounts and 1,000,000 two-line journal entries
over twelve months are appended through the kernel's ``EventStore.append`` (so every event
is hash-chained exactly as the ledger stores it; 5,000 streams per transaction, the event
data built as the ledger's codec writes it and checked against the codec once). The read
model is then filled with the chart and the first 500,000 entries (1,000,000 lines, every
month of the year) by applying those events straight from the store to ``LedgerView``
(``apply_batch``, 5,000 events per transaction, two transactions at a time): the projection
the service runs, without the detour through Kafka that ``rebuild`` measures on its own.

Figures:
- trial balance of one month (``LedgerReports.trial_balance``, best of and median of 7),
  beside the same report computed naively from the lines (GROUP BY over every line up to the
  month's end): what the per-(account, month) totals buy;
- balances of every account at a date in the middle of a month (totals plus daily totals);
- ``python -m ledger verify``'s work (``JournalVerifier.verify``) over every event, beside
  reading the same rows without hashing.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from bench_common import (
    Report,
    Result,
    create_database,
    kafka_bootstrap,
    metadata,
    namespace,
    profiled,
    server_url,
)
from ledger.app.queries import LedgerQueries
from ledger.app.reports import LedgerReports
from ledger.app.verification import JournalVerifier
from ledger.bootstrap import LedgerSettings, ledger_codec
from ledger.domain import AccountOpened, JournalEntryPosted, PostedLine
from ledger.main import create_app
from ledger.projections.ledger_view import LedgerView
from ledger.projections.tables import entry_lines
from shared_kernel.db import create_engine
from shared_kernel.eventstore import EventStore, NewEvent, PostgresEventStore, StreamAppend
from shared_kernel.identity import (
    IDENTITY_HEADER,
    Caller,
    IdentitySigner,
    ensure_keypair,
    key_id_of,
)
from shared_kernel.readmodel import READ_MODEL_SCHEMA, ReadModelStore
from shared_kernel.schema import events
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

ACCOUNTS = 200
ENTRIES = int(os.environ.get("BENCH_LEDGER_ENTRIES", "1000000"))  # smaller for a quick look
PER_APPEND = 5_000
PER_APPLY = 5_000
APPLIERS = 2
YEAR = 2026
PERIOD = "2026-11"
TRIAL_BALANCE_TARGET_MS = 1000
KINDS = ["asset", "liability", "equity", "revenue", "expense"]


def chart() -> list[tuple[str, str, str]]:
    return [
        (str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:bench:books:{n}")), f"{1000 + n * 7}", kind)
        for n, kind in zip(range(ACCOUNTS), KINDS * ACCOUNTS, strict=False)
    ]


def entry_data(rng: random.Random, accounts: list[tuple[str, str, str]], n: int) -> dict[str, Any]:
    """A two-line entry as the ledger's codec writes ``JournalEntryPosted`` (checked once)."""
    (debit_id, debit_code, _), (credit_id, credit_code, _) = rng.sample(accounts, 2)
    amount = rng.randint(100, 5_000_000)
    day = date(YEAR, 1, 1) + timedelta(days=n % 365)
    return {
        "entry_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "voucher_number": f"RE-{n:07d}",
        "booking_date": day.isoformat(),
        "text": f"Invoice {n} paid, bench run",
        "lines": [
            {
                "account_id": debit_id,
                "account_code": debit_code,
                "side": "debit",
                "amount": amount,
                "currency": "EUR",
            },
            {
                "account_id": credit_id,
                "account_code": credit_code,
                "side": "credit",
                "amount": amount,
                "currency": "EUR",
            },
        ],
        "voucher_date": day.isoformat(),
        "period": f"{day.year:04d}-{day.month:02d}",
        "source_document": None,
        "metadata": {},
        "recorded_by": "user:bench",
        "approved_by": None,
        "request_id": None,
        "reverses": None,
        "batch_id": None,
    }


def appends(accounts: list[tuple[str, str, str]]) -> Iterator[StreamAppend]:
    codec = ledger_codec()
    for account_id, code, kind in accounts:
        opened = AccountOpened(account_id, code, f"Bench account {code}", kind, "EUR")
        yield StreamAppend(
            account_id, "account", 0, [NewEvent(opened.event_type, 1, codec.encode(opened))]
        )
    rng = random.Random(42)
    for n in range(ENTRIES):
        data = entry_data(rng, accounts, n)
        if n == 0:  # the shortcut writes exactly what the codec would
            posted = codec.decode("ledger.JournalEntryPosted", 1, data)
            assert isinstance(posted, JournalEntryPosted)
            assert all(isinstance(line, PostedLine) for line in posted.lines)
            assert codec.encode(posted) == data, "bench data drifted from the codec"
        yield StreamAppend(
            data["entry_id"], "journal_entry", 0, [NewEvent("ledger.JournalEntryPosted", 1, data)]
        )


async def fill(engine: AsyncEngine, store: EventStore, accounts: list[tuple[str, str, str]]) -> int:
    total, chunk = 0, []
    for append in appends(accounts):
        chunk.append(append)
        if len(chunk) == PER_APPEND:
            async with engine.begin() as conn:
                total += len(await store.append(conn, chunk, metadata()))
            chunk = []
    if chunk:
        async with engine.begin() as conn:
            total += len(await store.append(conn, chunk, metadata()))
    return total


async def project(
    engine: AsyncEngine, store: EventStore, read_model: ReadModelStore, up_to: int
) -> int:
    """Apply the stored events up to position ``up_to`` to the live generation: one reader in
    position order, two appliers (totals are additive upserts in key order, so batches
    commute and never deadlock; the rows they insert are distinct)."""
    view = LedgerView()
    schema = read_model.schema(await read_model.ensure_live())
    batches: asyncio.Queue[list[Any] | None] = asyncio.Queue(maxsize=4)
    applied = 0

    async def read() -> None:
        after = 0
        async with engine.connect() as conn:
            while after < up_to and (
                batch := await store.read_after(conn, after, min(PER_APPLY, up_to - after))
            ):
                await batches.put(batch)
                after = batch[-1].position
                await conn.rollback()  # end the snapshot: no long transaction
        for _ in range(APPLIERS):
            await batches.put(None)

    async def apply() -> None:
        nonlocal applied
        while (batch := await batches.get()) is not None:
            async with engine.begin() as raw:
                conn = await raw.execution_options(schema_translate_map={READ_MODEL_SCHEMA: schema})
                await view.apply_batch(conn, batch)
            applied += len(batch)

    await asyncio.gather(read(), *(apply() for _ in range(APPLIERS)))
    return applied


async def timed(runs: int, call: Any) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    return seconds


async def naive_trial_balance(read_model: ReadModelStore) -> None:
    """The same figures from the lines themselves: every line up to the month's end."""
    start, end = date(YEAR, 11, 1), date(YEAR, 12, 1)
    line = entry_lines.c
    debit, credit = line.side == "debit", line.side == "credit"
    earlier, current = line.booking_date < start, line.booking_date >= start
    async with read_model.reading() as conn:
        await conn.execute(
            sa.select(
                line.account_id,
                sa.func.sum(line.amount).filter(debit & earlier),
                sa.func.sum(line.amount).filter(credit & earlier),
                sa.func.sum(line.amount).filter(debit & current),
                sa.func.sum(line.amount).filter(credit & current),
            )
            .where(line.booking_date < end)
            .group_by(line.account_id)
        )


async def read_all_events(engine: AsyncEngine) -> int:
    """The verification's I/O alone: every row, in position order, in batches of 10,000."""
    count, after = 0, 0
    async with engine.connect() as conn:
        while True:
            rows = (
                await conn.execute(
                    sa.select(events)
                    .where(events.c.position > after)
                    .order_by(events.c.position)
                    .limit(10_000)
                )
            ).all()
            if not rows:
                return count
            count += len(rows)
            after = rows[-1].position


async def trial_balance_over_http(url: str) -> list[float]:
    """GET /v1/reports/trial-balance from the ledger app (its runtime started without relay,
    projections or sweeper), with an identity signed the way the gateway signs it."""
    with tempfile.TemporaryDirectory() as keys:
        private, public = ensure_keypair(Path(keys))
        signer = IdentitySigner(private.read_bytes(), key_id_of(public.read_bytes()))
        settings = LedgerSettings(
            database_url=url,
            kafka_bootstrap_servers=kafka_bootstrap(),
            topic_namespace=namespace(),
            identity_public_key_file=public,
            run_relay=False,
            run_projections=False,
            run_expiry_sweeper=False,
        )
        app = create_app(settings)
        identity = Caller("user:bench", frozenset({"auditor"}), "none", "bench")
        headers = {IDENTITY_HEADER: signer.sign(identity, audience="ledger")}
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as http:

                async def call() -> None:
                    answer = await http.get(
                        "/v1/reports/trial-balance", params={"period": PERIOD}, headers=headers
                    )
                    assert answer.status_code == 200, answer.text

                return await timed(7, call)


async def drop_database(url: str) -> None:
    admin = create_engine(server_url(), pool_size=1)
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            name = make_url(url).database
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def ms(seconds: float) -> float:
    return seconds * 1000


async def run(report: Report) -> None:
    url = await create_database("ledger_books")
    engine = create_engine(url)
    store = PostgresEventStore(source="/ledger")
    view = LedgerView()
    read_model = ReadModelStore(engine, view.name, view.metadata)
    try:
        started = time.perf_counter()
        stored = await fill(engine, store, chart())
        filled = time.perf_counter() - started
        started = time.perf_counter()
        # The read model gets the chart and the first half of the entries: 1,000,000 lines.
        applied = await project(engine, store, read_model, ACCOUNTS + ENTRIES // 2)
        projected = time.perf_counter() - started
        async with read_model.reading() as conn:
            lines = (
                await conn.execute(sa.select(sa.func.count()).select_from(entry_lines))
            ).scalar_one()
        report.note(
            f"setup: {stored:,} events appended through the event store in {filled:.0f}s "
            f"({stored / filled:,.0f}/s), applied to the read model in {projected:.0f}s "
            f"({applied / projected:,.0f}/s): {lines:,} journal lines"
        )

        reports = LedgerReports(read_model, LedgerQueries(read_model))
        balance = await reports.trial_balance(PERIOD)
        [eur] = balance["totals"]
        assert eur["debits"] == eur["credits"] and len(balance["accounts"]) == ACCOUNTS
        with profiled("trial balance"):
            fast = await timed(7, lambda: reports.trial_balance(PERIOD))
        naive = await timed(3, lambda: naive_trial_balance(read_model))
        report.add(
            Result(
                name=f"trial balance of a month over {lines:,} lines",
                value=ms(statistics.median(fast)),
                unit="ms",
                detail=f"(best {ms(min(fast)):.0f} ms, {ACCOUNTS} accounts, median of 7)",
                baseline_name="GROUP BY over the lines",
                baseline_value=ms(statistics.median(naive)),
                notes=[
                    f"target < {TRIAL_BALANCE_TARGET_MS} ms: "
                    + (
                        "met"
                        if statistics.median(fast) * 1000 < TRIAL_BALANCE_TARGET_MS
                        else "MISSED"
                    )
                ],
            )
        )
        over_http = await trial_balance_over_http(url)
        report.add(
            Result(
                name="  the same over HTTP (in-process ASGI app)",
                value=ms(statistics.median(over_http)),
                unit="ms",
                detail=f"(best {ms(min(over_http)):.0f} ms, median of 7; JSON of {ACCOUNTS} rows)",
            )
        )
        at = await timed(5, lambda: reports.balances_at(date(YEAR, 11, 17)))
        sheet = await timed(5, lambda: reports.balance_sheet(date(YEAR, 11, 17)))
        report.add(
            Result(
                name="balances of every account at 2026-11-17",
                value=ms(statistics.median(at)),
                unit="ms",
                detail=f"(balance sheet at that date {ms(statistics.median(sheet)):.0f} ms)",
            )
        )

        verifier = JournalVerifier(engine, store)
        with profiled("verification"):
            began = time.perf_counter()
            verified = await verifier.verify()
            verify_seconds = time.perf_counter() - began
        assert verified["intact"] and verified["checked"] == stored, verified["detail"]
        began = time.perf_counter()
        assert await read_all_events(engine) == stored
        read_seconds = time.perf_counter() - began
        report.add(
            Result(
                name=f"verify hash chain of {ENTRIES:,} entries",
                value=verify_seconds,
                unit="s",
                detail=f"({stored / verify_seconds:,.0f} events/s)",
                baseline_name="read the rows only",
                baseline_value=read_seconds,
            )
        )
    finally:
        await engine.dispose()
        await drop_database(url)  # 1.7 GB: do not leave it on a server that is not throw-away
