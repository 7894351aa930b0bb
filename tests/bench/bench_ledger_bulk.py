"""Bulk posting: batches of 10,000 two-line journal entries (20,000 postings) in one request,
straight to the ledger and through the gateway, beside the event store appending the same
number of events on its own (the kernel's share of the work: hashing, inserting); and, to
show how the figure scales with the lines per entry, batches of four-line entries.

The ledger and the gateway run as real uvicorn processes (``bench_http.services``: fresh
databases, a fresh topic namespace, relay and projection running), the gateway with a body
limit raised to take a 10,000-entry request (~2.7 MB; its default is 1 MB). Batches go one
after the other, each all-or-nothing in one unit of work. A posting is one journal line.

The baseline of the figure is raw COPY: 10,000 rows of the ledger's own events table, written
by asyncpg ``copy_records_to_table`` into an empty copy of the table (same indexes) in one
transaction: the ceiling of writing one batch's events into PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from bench_common import Report, Result, create_database, metadata, profiled, raw_copy
from bench_http import Service, log_in, services
from bench_ledger_books import drop_database
from shared_kernel.db import create_engine
from shared_kernel.eventstore import NewEvent, PostgresEventStore, StreamAppend
from shared_kernel.identity import IDENTITY_HEADER, Caller, IdentitySigner

ENTRIES = 10_000
ACCOUNTS = 20
ROUNDS = 2
GATEWAY_ENV = {"MAX_BODY_BYTES": str(16 * 1024 * 1024), "UPSTREAM_TIMEOUT_SECONDS": "120"}


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def batch(accounts: list[str], rng: random.Random, round_no: int, pairs: int = 1) -> dict[str, Any]:
    """10,000 entries of ``pairs`` debit/credit pairs each (2 * pairs postings)."""
    entries = []
    for n in range(ENTRIES):
        lines = []
        for debit, credit in (rng.sample(accounts, 2) for _ in range(pairs)):
            amount = rng.randint(100, 500_000)
            lines += [
                {"account_id": debit, "side": "debit", "amount": amount, "currency": "EUR"},
                {"account_id": credit, "side": "credit", "amount": amount, "currency": "EUR"},
            ]
        entries.append(
            {
                "voucher_number": f"BULK-{round_no}-{n:05d}",
                "booking_date": f"2026-11-{1 + n % 28:02d}",
                "text": "Bulk bench entry",
                "lines": lines,
            }
        )
    return {"entries": entries}


async def post_batches(
    url: str,
    path: str,
    headers: Callable[[], dict[str, str]],
    accounts: list[str],
    rounds: int,
    seed: int,
    pairs: int = 1,
) -> list[float]:
    rng = random.Random(seed)
    seconds: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=180, trust_env=False) as http:
        for round_no in range(rounds):
            body = json.dumps(batch(accounts, rng, seed * 100 + round_no, pairs)).encode()
            started = time.perf_counter()
            answer = await http.post(
                path,
                content=body,
                headers={
                    **headers(),
                    "content-type": "application/json",
                    "Idempotency-Key": f"bulk-{uuid.uuid4().hex}",
                },
            )
            elapsed = time.perf_counter() - started
            if answer.status_code != 201:
                raise RuntimeError(
                    f"bulk posting answered {answer.status_code}: {answer.text[:300]}"
                )
            assert answer.json()["count"] == ENTRIES
            seconds.append(elapsed)
    return seconds


async def open_accounts(ledger: Service, headers: dict[str, str]) -> list[str]:
    ids = []
    async with httpx.AsyncClient(base_url=ledger.url, timeout=30, trust_env=False) as http:
        for n in range(ACCOUNTS):
            answer = await http.post(
                "/v1/accounts",
                json={
                    "code": f"{1000 + n * 10}",
                    "name": f"Bulk {n}",
                    "account_type": ["asset", "liability", "revenue", "expense"][n % 4],
                    "currency": "EUR",
                },
                headers=headers,
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
    return ids


async def store_alone() -> list[float]:
    """The kernel's share: appending 10,000 journal-entry events, as the bulk command's
    commit does, in one transaction."""
    url = await create_database("bulk_store")
    engine = create_engine(url)
    store = PostgresEventStore(source="/ledger")
    rng = random.Random(3)
    seconds = []
    try:
        for _ in range(ROUNDS):
            appends = []
            for n in range(ENTRIES):
                amount = rng.randint(100, 500_000)
                data: dict[str, object] = {
                    "entry_id": str(uuid.uuid4()),
                    "voucher_number": f"B-{n}",
                    "booking_date": "2026-11-26",
                    "text": "Bulk bench entry",
                    "lines": [
                        {
                            "account_id": "a",
                            "account_code": "1000",
                            "side": "debit",
                            "amount": amount,
                            "currency": "EUR",
                        },
                        {
                            "account_id": "b",
                            "account_code": "1010",
                            "side": "credit",
                            "amount": amount,
                            "currency": "EUR",
                        },
                    ],
                    "voucher_date": "2026-11-26",
                    "period": "2026-11",
                    "source_document": None,
                    "metadata": {},
                    "recorded_by": "user:bench",
                    "approved_by": None,
                    "request_id": None,
                    "reverses": None,
                    "batch_id": None,
                }
                appends.append(
                    StreamAppend(
                        str(data["entry_id"]),
                        "journal_entry",
                        0,
                        [NewEvent("ledger.JournalEntryPosted", 1, data)],
                    )
                )
            started = time.perf_counter()
            async with engine.begin() as conn:
                await store.append(conn, appends, metadata())
            seconds.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
        await drop_database(url)
    return seconds


def rate(seconds: list[float], pairs: int = 1) -> float:
    """Postings per second of the best round (the machine is shared; best is steadiest)."""
    return 2 * pairs * ENTRIES / min(seconds)


def detail(seconds: list[float], pairs: int = 1) -> str:
    per = ", ".join(f"{s:.2f}" for s in seconds)
    return f"({2 * pairs * ENTRIES:,} postings per request; seconds per request: {per})"


async def run(report: Report) -> None:
    # Each figure is reported as soon as it is measured: should a later step not finish within
    # the benchmark's time limit (a busy machine), the figures before it stand.
    with environment(GATEWAY_ENV):
        async with services() as (gateway, ledger, signer, reason):

            def direct_headers() -> dict[str, str]:
                return signed(signer)

            accounts = await open_accounts(ledger, direct_headers())
            path = "/v1/journal-entry-batches"
            await post_batches(ledger.url, path, direct_headers, accounts, 1, 0)
            with profiled("bulk posting, ledger direct"):
                direct = await post_batches(ledger.url, path, direct_headers, accounts, ROUNDS, 1)
            copied, copy_seconds = await raw_copy(
                ledger.env["LEDGER_DATABASE_URL"], ['"public"."events"'], limit=ENTRIES
            )
            report.add(
                Result(
                    name="bulk posting, ledger direct",
                    value=rate(direct),
                    unit="postings/s",
                    detail=detail(direct),
                    baseline_name="raw COPY of as many events",
                    baseline_value=2 * copied / copy_seconds,
                    baseline_detail=f"({copied:,} events in {copy_seconds:.2f}s)",
                    figure="bulk-direct",
                )
            )
            if gateway is None:
                report.say(f"    bulk posting through the gateway skipped: {reason}")
            else:
                bearer = await log_in(gateway)
                through = await post_batches(
                    gateway.url, f"/ledger{path}", lambda: bearer, accounts, ROUNDS, 2
                )
                report.add(
                    Result(
                        name="bulk posting via gateway",
                        value=rate(through),
                        unit="postings/s",
                        detail=detail(through),
                        baseline_name="ledger direct",
                        baseline_value=rate(direct),
                        figure="bulk-gateway",
                    )
                )
            four = await post_batches(ledger.url, path, direct_headers, accounts, 1, 3, pairs=2)
            report.add(
                Result(
                    name="  four-line entries, ledger direct",
                    value=rate(four, pairs=2),
                    unit="postings/s",
                    detail=detail(four, pairs=2),
                )
            )
    alone = await store_alone()
    report.add(
        Result(
            name="  the same beside the event store alone",
            value=rate(direct),
            unit="postings/s",
            baseline_name="event store append",
            baseline_value=rate(alone),
            baseline_detail=f"({', '.join(f'{s:.2f}' for s in alone)} s per 10,000 events)",
        )
    )


def signed(signer: IdentitySigner) -> dict[str, str]:
    identity = Caller("operator:accountant", frozenset({"accountant"}), "back", "bench")
    return {IDENTITY_HEADER: signer.sign(identity, audience="ledger")}
