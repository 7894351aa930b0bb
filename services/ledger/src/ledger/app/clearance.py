"""Risk's answers in: an inbox over the risk service's event topic that records each deal's
clearance or refusal on its booking request, exactly once.

It reads risk's events through the ledger's own classes of them (``domain.risk_events``, the
published language). Each answer is recorded inside ``caused_by(envelope.cause)``: it joins
the case the deal's submission started (risk's answer carries that correlation id) and names
risk's event as its cause. The inbox claims make a redelivered or replayed answer a no-op, and
the request's own state makes a repeated answer (a second ``DealCleared``) one too. Answers for
requests this ledger does not know, or that were decided meanwhile, are ignored: never a
failure of the inbox.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.domain import caused_by
from shared_kernel.inbox import InboxHandler
from shared_kernel.kafka import events_topic
from shared_kernel.unit_of_work import UnitOfWork

from ledger.domain import BookingRequest, Refusal
from ledger.domain.risk_events import RISK_EVENTS, DealCleared, DealRefused


class RiskClearances(InboxHandler):
    """Records risk's ``DealCleared`` / ``DealRefused`` on the booking requests they answer."""

    name = "risk_clearances"

    def __init__(self, topic_namespace: str = "") -> None:
        self.topics = (events_topic("risk", topic_namespace),)
        self.codec = EventCodec(RISK_EVENTS)

    async def handle(self, uow: UnitOfWork, events: Sequence[RecordedEvent]) -> None:
        answers = [(e, ev) for e, ev in events if isinstance(ev, DealCleared | DealRefused)]
        wanted = sorted({event.request_id for _, event in answers})
        # Every request of the batch loaded once (a second load would conflict with itself).
        requests = await uow.find_many(BookingRequest, wanted) if wanted else {}
        for envelope, event in answers:
            request = requests.get(event.request_id)
            if request is None:
                continue  # not a request of this ledger: nothing to answer
            with caused_by(envelope.cause):
                match event:
                    case DealCleared():
                        request.record_clearance(event.at)
                    case DealRefused():
                        refusal = Refusal(
                            event.code,
                            event.reason,
                            event.limit_id,
                            event.currency,
                            event.shortfall,
                        )
                        request.record_refusal(refusal, event.at)


def _refusal(event: DealRefused) -> Refusal:
    return Refusal(event.code, event.reason, event.limit_id, event.currency, event.shortfall)
