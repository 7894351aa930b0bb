"""A search of the gateway's decisions (the audit read model): filters, page size, cursor.

Pages are newest first: by time, then by record id, so that records of the same instant keep
one order from page to page. The cursor is opaque to the client: it names the last record of
the previous page (its time and id), and the next page starts strictly after it in that order,
so new records never shift a page or repeat one. The read model is eventually consistent: a
record that arrives late (its publisher lagged) with a time older than the cursor is not on
the pages still to come; a new search from the top finds it.

``since`` is inclusive and ``until`` exclusive, both with a UTC offset: a time without one
would be read in whatever zone the server runs in.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from shared_kernel.errors import DomainError

from gateway.domain.access_decisions import OUTCOMES, Outcome

DEFAULT_PAGE = 50
MAX_PAGE = 200
# Subjects, request ids and reasons are short; a longer filter could match nothing anyway.
MAX_TEXT = 200
MAX_PATH = 512  # as the audit middleware cuts a recorded path
LOWEST_STATUS, HIGHEST_STATUS = 100, 599
_CURSOR_VERSION = "d1"


class InvalidSearch(DomainError):
    """A filter, the page size or the cursor of a search is not usable (HTTP 422)."""

    title = "Invalid search"


@dataclass(frozen=True)
class DecisionCursor:
    """Where a page ended: the time and id of its last (oldest) record."""

    time: datetime
    record_id: UUID

    def encode(self) -> str:
        payload = json.dumps({"t": self.time.isoformat(), "i": str(self.record_id)})
        text = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{_CURSOR_VERSION}.{text}"

    @classmethod
    def decode(cls, text: str) -> DecisionCursor:
        """The cursor a previous page gave; InvalidSearch (field ``cursor``) for anything
        else, so that a made-up cursor is a 422, never a 500."""
        version, _, body = text.partition(".")
        try:
            if version != _CURSOR_VERSION:
                raise ValueError("unknown cursor version")
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            payload = json.loads(raw)
            time = datetime.fromisoformat(payload["t"])
            if time.utcoffset() is None:
                raise ValueError("a time without a zone")
            return cls(time.astimezone(UTC), UUID(payload["i"]))
        except (ValueError, TypeError, KeyError, OverflowError, binascii.Error, RecursionError):
            raise InvalidSearch(
                "cursor is not one this search gave out; pass next_cursor of the previous page",
                field="cursor",
                code="InvalidCursor",
            ) from None


@dataclass(frozen=True)
class DecisionSearch:
    """Which decisions, how many, from where. Build it with ``of``, which checks each value."""

    subject: str | None = None
    outcome: Outcome | None = None
    status: int | None = None
    path_prefix: str | None = None
    request_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_PAGE
    after: DecisionCursor | None = None

    @classmethod
    def of(
        cls,
        *,
        subject: str | None = None,
        outcome: str | None = None,
        status: int | None = None,
        path_prefix: str | None = None,
        request_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> DecisionSearch:
        """The search, or InvalidSearch naming a field that is not usable."""
        if status is not None and not LOWEST_STATUS <= status <= HIGHEST_STATUS:
            raise InvalidSearch(
                f"status must be an HTTP status ({LOWEST_STATUS}..{HIGHEST_STATUS}), not {status}",
                field="status",
                code="InvalidStatus",
            )
        if path_prefix is not None and not path_prefix.startswith("/"):
            raise InvalidSearch(
                f"path_prefix must start with '/', as a path does: {path_prefix[:40]!r}",
                field="path_prefix",
                code="InvalidPathPrefix",
            )
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidSearch(
                f"limit must be 1..{MAX_PAGE}, not {limit}", field="limit", code="InvalidLimit"
            )
        since, until = _interval(since, until)
        return cls(
            subject=_text("subject", subject, MAX_TEXT),
            outcome=_outcome(outcome),
            status=status,
            path_prefix=_text("path_prefix", path_prefix, MAX_PATH),
            request_id=_text("request_id", request_id, MAX_TEXT),
            since=since,
            until=until,
            limit=limit,
            after=DecisionCursor.decode(cursor) if cursor is not None else None,
        )


def _outcome(value: str | None) -> Outcome | None:
    if value is None:
        return None
    for outcome in OUTCOMES:
        if value == outcome:
            return outcome
    raise InvalidSearch(
        f"outcome must be one of {', '.join(OUTCOMES)}, not {value[:40]!r}",
        field="outcome",
        code="InvalidOutcome",
    )


def _text(name: str, value: str | None, longest: int) -> str | None:
    if value is None:
        return None
    if not value:
        raise InvalidSearch(
            f"{name} must not be empty; leave it out to search without it",
            field=name,
            code="EmptyFilter",
        )
    if len(value) > longest:
        raise InvalidSearch(
            f"{name} is longer than {longest} characters", field=name, code="FilterTooLong"
        )
    if "\x00" in value:  # PostgreSQL text cannot hold it: no record could match
        raise InvalidSearch(f"{name} must not contain NUL", field=name, code="InvalidCharacter")
    return value


def _interval(
    since: datetime | None, until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """``since`` and ``until`` in UTC, checked: each with an offset, in range, in order."""
    since, until = _utc("since", since), _utc("until", until)
    if since is not None and until is not None and since >= until:
        raise InvalidSearch(
            "until must be later than since (since is inclusive, until exclusive)",
            field="until",
            code="EmptyInterval",
        )
    return since, until


def _utc(name: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.utcoffset() is None:
        raise InvalidSearch(
            f"{name} needs a UTC offset (RFC 3339), e.g. 2026-03-02T09:00:00Z",
            field=name,
            code="TimeWithoutZone",
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is no instant a datetime can hold in UTC
        raise InvalidSearch(f"{name} is out of range", field=name, code="TimeOutOfRange") from None
