"""The campaign's closing table, in Markdown: one line per fault, the figures a reader needs to
judge it, and in the last column whether the row's rule held and, if not, why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tests.faults.accounting import RowReport

HEADER = (
    "row",
    "requests",
    "acknowledged",
    "5xx (by code)",
    "other failures",
    "lost",
    "duplicates applied",
    "time to recover",
    "holds",
)


def by_code(counts: Mapping[int, int] | Mapping[str, int]) -> str:
    """``{503: 4, 502: 1}`` as ``502: 1, 503: 4``; ``0`` when empty."""
    if not counts:
        return "0"
    return ", ".join(f"{code}: {n}" for code, n in sorted(counts.items(), key=lambda i: str(i[0])))


def cell(text: str) -> str:
    """A table cell: no pipe or line break may break the row."""
    return text.replace("|", "/").replace("\n", " ").strip() or "-"


def line(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def row_cells(number: int, row: RowReport) -> list[str]:
    if row.not_run:
        return [f"{number}. {row.name}", *["-"] * 7, f"not run: {row.not_run}"]
    found = row.findings
    duplicates = str(len(found.duplicates_applied))
    if found.topic_duplicates:
        duplicates += f" (ids twice on the topics so far: {found.topic_duplicates}, applied once)"
    reasons = row.reasons()
    verdict = "yes" if not reasons else "no: " + "; ".join(reasons)
    if found.notes:
        verdict += " (" + "; ".join(found.notes) + ")"
    return [
        f"{number}. {row.name}",
        str(len(row.outcomes)),
        str(row.acknowledged),
        by_code(row.server_errors),
        by_code(row.other_failures),
        str(len(found.lost)),
        duplicates,
        row.recovery or "-",
        verdict,
    ]


def table(rows: list[RowReport]) -> str:
    lines = [line(HEADER), line(["---"] * len(HEADER))]
    lines += [line(row_cells(n, row)) for n, row in enumerate(rows, start=1)]
    return "\n".join(lines) + "\n"
