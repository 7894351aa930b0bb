"""The other services' events as the case timeline reads them: its side of the published language.

The gateway shares no code with the ledger, risk or tickets but the kernel, so, like every
reader of another service's events, it keeps its own classes with only the fields its
summaries use. An event of a type listed here whose data does not fit (a field missing, a
newer version) is still on the timeline, with the generic summary: the timeline shows every
event of a case and never refuses one. The gateway's own events are read with its own classes.
"""

from __future__ import annotations

from shared_kernel.domain import DomainEvent

from gateway.domain.case_ledger_events import LEDGER_EVENTS
from gateway.domain.case_risk_events import RISK_EVENTS
from gateway.domain.case_tickets_events import TICKETS_EVENTS
from gateway.domain.events import EVENTS as GATEWAY_EVENTS

CASE_EVENTS: tuple[type[DomainEvent], ...] = (
    *LEDGER_EVENTS,
    *RISK_EVENTS,
    *TICKETS_EVENTS,
    *GATEWAY_EVENTS,
)
