"""The campaign's checks, the part that decides: what the load was told against what the read
models hold. Each command's Idempotency-Key travels in its text, so a command is found in a
read model whether or not its client saw the acknowledgement. Pure, unit-tested."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.faults.accounting import Findings, Outcome

KEY_MARK = "key "  # the load writes "... key <Idempotency-Key>" into each command's text


def key_in(text: str | None) -> str | None:
    """The Idempotency-Key the load wrote into a command's text (None: not the load's)."""
    if not text or KEY_MARK not in text:
        return None
    return text.rsplit(KEY_MARK, 1)[1].strip() or None


@dataclass(frozen=True)
class ReadModels:
    """What the read models hold of the load's commands, by Idempotency-Key."""

    entries: Counter[str]  # ledger: the entry's line on the receivable account
    deals: Counter[str]  # ledger: booking requests
    deal_clearance: Mapping[str, str]  # ledger: each request's clearance status
    exposure: int  # risk: the counterparty's exposure (posted plus reserved)


def reconcile(outcomes: Iterable[Outcome], seen: ReadModels) -> Findings:
    """Lost (acknowledged, not found), applied twice, applied without acknowledgement, deals
    the round trip through risk has not cleared, and risk's exposure against the ledger's."""
    found = Findings()
    sent = {o.key: o for o in outcomes}
    for key, outcome in sent.items():
        held = seen.entries if outcome.kind == "entry" else seen.deals
        if outcome.acknowledged and held[key] == 0:
            found.lost.append(f"{outcome.kind} {outcome.resource_id}")
    for kind, held in (("entry", seen.entries), ("deal", seen.deals)):
        found.duplicates_applied += [f"{kind} key {k}" for k, n in held.items() if n > 1]
    applied = [k for k in (*seen.entries, *seen.deals) if k in sent]
    found.applied_unacknowledged = sum(not sent[k].acknowledged for k in applied)
    if found.applied_unacknowledged:
        found.notes.append(
            f"{found.applied_unacknowledged} applied whose client got no acknowledgement "
            "(a retry with its Idempotency-Key gets the first answer)"
        )
    waiting = [k for k in seen.deals if seen.deal_clearance.get(k) != "cleared"]
    if waiting:
        found.problems.append(f"{len(waiting)} deals not cleared by risk")
    expected = sum(sent[k].amount for k in applied)
    if seen.exposure != expected:
        found.problems.append(
            f"risk's exposure {seen.exposure} != {expected}, the sum of what the ledger holds"
        )
    return found


def trial_balance_problems(report: Mapping[str, Any]) -> list[str]:
    """The trial balance sums to zero: per currency, debits equal credits, and so do the
    closing debit and credit balances."""
    problems = []
    for totals in report.get("totals", []):
        currency = totals["currency"]
        if totals["debits"] != totals["credits"]:
            problems.append(f"trial balance {currency}: debits != credits")
        if totals["closing_debit_balances"] != totals["closing_credit_balances"]:
            problems.append(f"trial balance {currency}: closing balances do not sum to zero")
    return problems


def topic_duplicates(ids_by_topic: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Per topic, how many records repeat a CloudEvent id already on it."""
    counts = {topic: Counter(ids) for topic, ids in ids_by_topic.items()}
    return {t: sum(n - 1 for n in c.values() if n > 1) for t, c in counts.items()}


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The keys of two pictures of the read models that differ (a rebuild must change none)."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
