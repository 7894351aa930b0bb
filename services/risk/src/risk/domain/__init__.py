"""The risk service's pure domain: register, limits, deal clearance and KRIs.

``ALL_EVENTS`` is every event class the service stores; each part exports its own tuple from
its own module (register: ``REGISTER_EVENTS``; limits: ``LIMIT_EVENTS``; KRIs: ``KRI_EVENTS``;
deal clearance: ``DEAL_EVENTS``) and adds one import line and one ``*`` line here.
"""

from shared_kernel.domain import DomainEvent

from risk.domain.deal_events import DEAL_EVENTS
from risk.domain.kri_events import KRI_EVENTS
from risk.domain.limits_events import LIMIT_EVENTS
from risk.domain.register_events import REGISTER_EVENTS

ALL_EVENTS: tuple[type[DomainEvent], ...] = (
    *REGISTER_EVENTS,
    *KRI_EVENTS,
    *LIMIT_EVENTS,
    *DEAL_EVENTS,
)
