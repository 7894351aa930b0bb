"""The figures of issue 14's table, their goals, and the table ``run.py`` prints at the end.

A benchmark reports a figure of the table by naming it: ``Result(..., figure="relay")``; the
goal then comes from here (one place, not repeated in every benchmark). The table is built
from what the benchmarks reported in this run: a figure whose benchmark was not selected,
failed or skipped shows as "not run", never as a number from elsewhere.
"""

from __future__ import annotations

import math
import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

ROOT = Path(__file__).resolve().parents[2]

Kind = Literal["at least", "at most", "under", "ratio at least"]


@dataclass(frozen=True)
class Goal:
    """What a figure must reach: a value (at least, at most, under) or a ratio to its
    baseline measured in the same run (at least)."""

    kind: Kind
    bound: float

    @classmethod
    def at_least(cls, bound: float) -> Goal:
        return cls("at least", bound)

    @classmethod
    def at_most(cls, bound: float) -> Goal:
        return cls("at most", bound)

    @classmethod
    def under(cls, bound: float) -> Goal:
        return cls("under", bound)

    @classmethod
    def ratio(cls, bound: float) -> Goal:
        return cls("ratio at least", bound)

    def met(self, value: float, ratio: float | None) -> bool | None:
        """Whether ``value`` (or its ``ratio`` to the baseline) meets the goal; None when it
        cannot be told (a ratio goal without a baseline, a value that is not a number)."""
        if self.kind == "ratio at least":
            return None if ratio is None or math.isnan(ratio) else ratio >= self.bound
        if math.isnan(value):
            return None
        if self.kind == "at least":
            return value >= self.bound
        if self.kind == "at most":
            return value <= self.bound
        return value < self.bound

    def text(self, unit: str) -> str:
        if self.kind == "ratio at least":
            return f">= {self.bound:g}x baseline"
        sign = {"at least": ">=", "at most": "<=", "under": "<"}[self.kind]
        return f"{sign} {self.bound:,g} {unit}"


@dataclass(frozen=True)
class Figure:
    """One row of the issue's table: its label, the benchmark (a ``run.py`` name) that
    measures it, the unit it is reported in, and its goal (None: shown for context)."""

    key: str
    label: str
    benchmark: str
    unit: str
    goal: Goal | None


FIGURES: tuple[Figure, ...] = (
    Figure(
        "append-1",
        "single-event commands, 1 writer (baseline: eventsourcing lib, 1 writer)",
        "append",
        "events/s",
        None,
    ),
    Figure(
        "append-8",
        "single-event commands, 8 writers (baseline: eventsourcing lib, 8 writers)",
        "append",
        "events/s",
        Goal.ratio(3),
    ),
    Figure(
        "append-scaling",
        "single-event commands, 8 writers (baseline: 1 writer)",
        "append",
        "events/s",
        Goal.ratio(4),
    ),
    Figure(
        "gateway-entries",
        "journal entries via gateway, 32 clients (baseline: ledger direct)",
        "http",
        "entries/s",
        Goal.at_least(500),
    ),
    Figure(
        "gateway-entries-p99",
        "journal entries via gateway, 32 clients, p99 (baseline: ledger direct)",
        "http",
        "ms",
        Goal.under(150),
    ),
    Figure(
        "cpu-gateway",
        "CPU per request, gateway, GET one account (baseline: the ledger's)",
        "gateway",
        "ms",
        Goal.at_most(1.0),
    ),
    Figure(
        "cpu-read",
        "CPU per request, simple read: ledger, GET one account",
        "gateway",
        "ms",
        Goal.at_most(1.5),
    ),
    Figure(
        "cpu-posting",
        "CPU per request, posting: ledger, one journal entry",
        "http",
        "ms",
        Goal.at_most(3.0),
    ),
    Figure(
        "gateway-added-p50",
        "gateway added latency, p50, GET one account (baseline: ledger direct p50)",
        "gateway",
        "ms",
        Goal.under(1.0),
    ),
    Figure(
        "relay",
        "outbox relay (baseline: bare aiokafka producer, same messages)",
        "relay",
        "events/s",
        Goal.ratio(0.7),
    ),
    Figure(
        "rebuild",
        "rebuild into the ledger read model (baseline: bare consume+decode)",
        "rebuild",
        "events/s",
        Goal.at_least(50_000),
    ),
    Figure(
        "rebuild-copy",
        "rebuild into the ledger read model (baseline: raw COPY of its rows)",
        "rebuild",
        "events/s",
        None,
    ),
    Figure(
        "bulk-direct",
        "bulk posting, 2-line entries, ledger direct (baseline: raw COPY of its events)",
        "ledger-bulk",
        "postings/s",
        Goal.at_least(50_000),
    ),
    Figure(
        "bulk-gateway",
        "bulk posting, 2-line entries, via gateway (baseline: ledger direct)",
        "ledger-bulk",
        "postings/s",
        Goal.at_least(50_000),
    ),
    Figure(
        "risk-inbox",
        "risk exposure inbox (baseline: bare consume+decode)",
        "risk-exposure",
        "events/s",
        Goal.at_least(5_000),
    ),
    Figure(
        "pre-deal-service",
        "pre-deal check p99, at the service",
        "risk",
        "ms",
        Goal.under(5),
    ),
    Figure(
        "pre-deal-gateway",
        "pre-deal check p99, via gateway (baseline: at the service)",
        "risk",
        "ms",
        Goal.under(10),
    ),
    Figure(
        "lag",
        "command -> read model lag p99, at half the maximum load (baseline: p50)",
        "lag",
        "ms",
        Goal.under(100),
    ),
)

BY_KEY: Mapping[str, Figure] = {figure.key: figure for figure in FIGURES}


class Measured(Protocol):
    """What the table needs of a benchmark's result (``bench_common.Result``)."""

    figure: str
    value: float
    unit: str
    baseline_value: float | None
    baseline_unit: str
    decimals: int

    @property
    def ratio(self) -> float | None: ...


def load_average() -> str:
    """The 1, 5 and 15-minute load averages (/proc/loadavg) and the CPU count."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs"


def git_commit() -> str:
    """The checked-out commit, marked "+ changes" when the work tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git work tree)"
    return f"{head} + uncommitted changes" if dirty else head


def _number(value: float, decimals: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{decimals}f}"


def table(results: Iterable[Measured]) -> list[str]:
    """The issue's table as Markdown lines, one row per figure, from this run's results (the
    last result of a figure wins, should a benchmark report one twice)."""
    found = {result.figure: result for result in results if result.figure}
    lines = [
        "| figure | measured | baseline (same run) | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    for figure in FIGURES:
        goal = figure.goal.text(figure.unit) if figure.goal else "-"
        result = found.get(figure.key)
        if result is None:
            lines.append(f"| {figure.label} | not run | | | {goal} | not run |")
            continue
        value = f"{_number(result.value, result.decimals)} {result.unit}"
        baseline = (
            ""
            if result.baseline_value is None
            else f"{_number(result.baseline_value, result.decimals)} "
            f"{result.baseline_unit or result.unit}"
        )
        ratio = "" if result.ratio is None else f"{result.ratio:.2f}"
        verdict = "-"
        if figure.goal is not None:
            met = figure.goal.met(result.value, result.ratio)
            verdict = "?" if met is None else ("yes" if met else "no")
        lines.append(f"| {figure.label} | {value} | {baseline} | {ratio} | {goal} | {verdict} |")
    return lines
