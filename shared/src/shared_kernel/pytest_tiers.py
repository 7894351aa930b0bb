"""Every test belongs to exactly one tier, taken from its directory.

``unit`` (no I/O, milliseconds), ``integration`` (real PostgreSQL and Kafka) and ``e2e`` (HTTP
through the gateway) are markers that ``make test-unit`` and CI select by. A marker written by
hand is easy to forget, and a forgotten one silently drops the test from its tier's run, so the
marker comes from the directory the test lives in (``.../unit/``, ``.../integration/``,
``.../e2e/``). A test outside those directories, or one whose own marker names another tier, is
a collection error: the suite fails instead of skipping it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "integration", "e2e")


def tier_of(path: Path) -> str | None:
    """The tier named by the nearest tier directory of ``path``, if any."""
    for part in reversed(path.parent.parts):
        if part in TIERS:
            return part
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems: list[str] = []
    for item in items:
        tier = tier_of(item.path)
        marked = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS})
        if tier is None:
            problems.append(
                f"{item.nodeid}: not in a unit/, integration/ or e2e/ directory, so it has no tier"
            )
        elif marked and marked != [tier]:
            problems.append(f"{item.nodeid}: lives in {tier}/ but is marked {', '.join(marked)}")
        else:
            item.add_marker(getattr(pytest.mark, tier))
    if problems:
        raise pytest.UsageError("tests without a clear tier:\n  " + "\n  ".join(problems))
