"""The gateway's decision about one request, as it travels on the audit topic.

``AccessDecided`` is the ``data`` of an audit record (``adapters/audit.py``): who called, from
which office and with which roles, what they asked for, whether the gateway allowed it and
why, and what it answered. The record's id and time are the CloudEvent's. Readers (the audit
read model, ``projections/audit_decisions.py``) decode it through an ``EventCodec``, so that
an upcaster reaches them when the record changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from shared_kernel.domain import DomainEvent

Outcome = Literal["allow", "deny"]
OUTCOMES: tuple[Outcome, ...] = ("allow", "deny")


@dataclass(frozen=True)
class AccessDecided(DomainEvent):
    """The gateway allowed or denied a request and answered it with ``status``.

    ``kind`` is ``user``, ``system`` or ``anonymous``; ``route`` the template that served the
    request (``/ledger/v1/accounts/{account_id}``), ``path`` the path as sent; ``client`` the
    connection's peer and ``forwarded_client`` the client a trusted proxy named;
    ``client_request_id`` the request id the client sent beside the gateway's own."""

    event_type: ClassVar[str] = "gateway.AccessDecided"
    version: ClassVar[int] = 1

    request_id: str
    subject: str
    kind: str
    office: str
    roles: tuple[str, ...]
    method: str
    route: str
    path: str
    status: int
    decision: Outcome
    reason: str
    client: str
    target: str | None = None
    forwarded_client: str | None = None
    client_request_id: str | None = None


AUDIT_EVENTS: tuple[type[DomainEvent], ...] = (AccessDecided,)
# The stream type of every audit record's envelope (one record, one stream of one event).
AUDIT_STREAM_TYPE = "access-decision"
