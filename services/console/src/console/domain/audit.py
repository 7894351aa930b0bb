"""The audit search's filters as the console's form holds them and the API takes them.

The form sends what a person typed; the API wants times with a UTC offset. A time typed
without one (what ``<input type="datetime-local">`` sends) is read in the console's time zone,
as the person at the console means it. Anything else is passed on as typed, for the API to
accept or to refuse with a 422 that names the filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

FILTERS = ("subject", "outcome", "status", "path_prefix", "request_id", "since", "until")
TIMES = frozenset({"since", "until"})


def typed_filters(query: Mapping[str, str]) -> dict[str, str]:
    """The filters the person filled in, trimmed; empty ones left out."""
    return {name: query[name].strip() for name in FILTERS if query.get(name, "").strip()}


def api_filters(typed: Mapping[str, str], timezone: ZoneInfo) -> dict[str, str]:
    """The typed filters as the API's query: local times given their offset."""
    return {
        name: with_offset(value, timezone) if name in TIMES else value
        for name, value in typed.items()
    }


def with_offset(text: str, timezone: ZoneInfo) -> str:
    """``2026-12-03T09:00`` -> ``2026-12-03T09:00:00+01:00`` in ``timezone``; a time that
    has an offset, or is no time at all, stays as typed."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is not None:
        return text
    return moment.replace(tzinfo=timezone).isoformat()
