"""The period close guard: a month with pending booking requests dated in it cannot be closed
(they must be approved, rejected or expire first, so that none is left that could never be
booked).

Which requests are pending in a month? The write side decides, the read model only helps it
find them fast. ``PendingRequestIndex.pending_in`` names candidates from the read model, with
the position of the event store up to which the read model is known complete (it waited for
the projection to reach the store's head). The close command then holds the event store's
appends (``uow.hold_appends``: no other command commits events until the close ends), reads
the booking-request submissions stored after that position (usually none or a few), loads
every candidate from its stream and keeps those still pending. Without an index (unit tests)
the position is zero and the store's events are read from the start.

No race: a submission either committed before the close held the appends (then the close
sees it and refuses), or it commits after the close, and its guard on the period
(``uow.expect_unchanged``, checked under the same lock) fails: rerun, it meets the closed
period (422). The appends are held for the few reads of a close, once a month.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from shared_kernel.errors import DomainError
from shared_kernel.readmodel import PositionWaiter
from shared_kernel.unit_of_work import UnitOfWork

from ledger.domain import BookingRequest, BookingRequestSubmitted, RequestStatus

_SUBMITTED = BookingRequestSubmitted.event_type
_PAGE = 1_000


@dataclass(frozen=True)
class PendingSnapshot:
    """Requests the read model shows pending in a month, complete up to ``position``."""

    request_ids: tuple[str, ...] = ()
    position: int = 0


class PendingRequestIndex(Protocol):
    async def pending_in(self, period: str) -> PendingSnapshot:
        """Candidates pending in ``period`` and the store position they are complete up to."""
        ...


class NoPendingIndex:
    """No read model: the close command reads every submission from the store (unit tests)."""

    async def pending_in(self, period: str) -> PendingSnapshot:
        return PendingSnapshot()


class ReadModelBehind(DomainError):
    """The read model did not catch up in time; the close is refused rather than guessed."""

    status = 503
    title = "Service busy"


class ReadModelPendingIndex:
    """Candidates from the live read model, once it has applied every event up to the store's
    head (read your writes); refuses (503) when it does not catch up within ``timeout``."""

    def __init__(
        self,
        pending: Callable[[str], Awaitable[list[str]]],
        head: Callable[[], Awaitable[int]],
        waiter: PositionWaiter,
        *,
        timeout: float = 5.0,
    ) -> None:
        self._pending = pending
        self._head = head
        self._waiter = waiter
        self._timeout = timeout

    async def pending_in(self, period: str) -> PendingSnapshot:
        position = await self._head()
        if not await self._waiter.wait_for(position, self._timeout):
            raise ReadModelBehind(
                "The ledger's read model is catching up; closing a period needs it current. "
                "Try again in a moment.",
                code="ReadModelBehind",
            )
        return PendingSnapshot(tuple(await self._pending(period)), position)


async def pending_requests_in(uow: UnitOfWork, period: str, snapshot: PendingSnapshot) -> list[str]:
    """The ids of the requests pending in ``period``, decided on the write side: the snapshot's
    candidates plus the submissions stored after its position, each loaded from its stream."""
    candidates = set(snapshot.request_ids)
    after = snapshot.position
    while True:
        envelopes = await uow.store.read_after(uow.transaction, after, _PAGE)
        for envelope in envelopes:
            if envelope.event_type == _SUBMITTED:
                submitted = uow.codec.decode_envelope(envelope)
                if isinstance(submitted, BookingRequestSubmitted) and submitted.period == period:
                    candidates.add(envelope.subject)
        if len(envelopes) < _PAGE:
            break
        after = envelopes[-1].position
    requests = await uow.find_many(BookingRequest, sorted(candidates)) if candidates else {}
    return sorted(
        request.id
        for request in requests.values()
        if request.status is RequestStatus.PENDING
        and request.details is not None
        and request.details.period == period
    )
