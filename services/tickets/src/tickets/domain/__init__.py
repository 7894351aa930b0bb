"""The tickets service's pure domain: queues, tickets, their lifecycle, priority matrix, SLA
clocks and monitoring-alert de-duplication. Nothing here imports a web framework, a database
driver or Kafka."""

from tickets.domain.alerts import (
    DEFAULT_SEVERITY,
    SEVERITY_CLASSIFICATION,
    AlertSource,
    AlertState,
    parse_alert_state,
    source_id_for,
)
from tickets.domain.events import ALL_EVENTS
from tickets.domain.lifecycle import (
    ACTIVE,
    FINAL,
    TRANSITIONS,
    Status,
    TransitionNotAllowed,
    allowed_from,
    ensure_transition,
    parse_status,
)
from tickets.domain.priority import DEFAULT_MATRIX, PriorityMatrix, check_level, raised
from tickets.domain.queue import DEFAULT_QUEUE_NAME, Queue, queue_id_for
from tickets.domain.sla_state import CLOCKS, Alarm, Deadlines, TicketSla, fold_sla
from tickets.domain.ticket import LINK_KINDS, Ticket, TicketType
from tickets.domain.turns import RoundRobin, turns_stream_id

__all__ = [
    "ACTIVE",
    "ALL_EVENTS",
    "CLOCKS",
    "DEFAULT_MATRIX",
    "DEFAULT_QUEUE_NAME",
    "DEFAULT_SEVERITY",
    "FINAL",
    "LINK_KINDS",
    "SEVERITY_CLASSIFICATION",
    "TRANSITIONS",
    "Alarm",
    "AlertSource",
    "AlertState",
    "Deadlines",
    "PriorityMatrix",
    "Queue",
    "RoundRobin",
    "Status",
    "Ticket",
    "TicketSla",
    "TicketType",
    "TransitionNotAllowed",
    "allowed_from",
    "check_level",
    "ensure_transition",
    "fold_sla",
    "parse_alert_state",
    "parse_status",
    "queue_id_for",
    "raised",
    "source_id_for",
    "turns_stream_id",
]
