"""Response bodies of the tickets API's reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class QueueMemberView(BaseModel):
    member: str
    available: bool


class QueueView(BaseModel):
    queue_id: str
    name: str
    escalation_group: str
    auto_assign: bool
    sla_policy: dict[str, Any]
    priority_matrix: list[list[int]]
    members: list[QueueMemberView]
    created_at: datetime
    version: int
    position: int


class QueueList(BaseModel):
    items: list[QueueView]


class TicketLinkView(BaseModel):
    kind: str
    target_id: str


class TicketView(BaseModel):
    ticket_id: str
    ticket_type: str
    queue_id: str
    title: str
    description: str
    category: str
    configuration_item: str | None
    requester: str
    requester_kind: str
    impact: int
    urgency: int
    priority: int
    status: str
    assignee: str | None
    escalated_to: str | None
    merged_into: str | None
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution_seconds: int | None
    resolution_business_seconds: int | None
    alert_count: int
    last_alert_at: datetime | None
    origin: dict[str, str] | None = None
    origin_id: str | None = None
    rating: int | None = None
    first_response_warning_at: datetime | None
    first_response_due_at: datetime | None
    resolution_warning_at: datetime | None
    resolution_due_at: datetime | None
    first_response_warned: bool
    first_response_breached: bool
    resolution_warned: bool
    resolution_breached: bool
    updated_at: datetime
    version: int
    position: int
    links: list[TicketLinkView] = []


class TicketPage(BaseModel):
    items: list[TicketView]
    next_cursor: str | None


class MessageView(BaseModel):
    message_id: str
    ticket_id: str
    internal: bool
    by_agent: bool
    author: str
    body: str
    at: datetime
    position: int


class Conversation(BaseModel):
    items: list[MessageView]


class HistoryItem(BaseModel):
    version: int
    position: int
    event_type: str
    at: datetime
    actor: str
    office: str
    reason: str | None
    correlation_id: str
    data: dict[str, Any]


class History(BaseModel):
    items: list[HistoryItem]


class BacklogRow(BaseModel):
    queue_id: str
    queue_name: str | None
    priority: int
    status: str
    tickets: int
    breached: int
    oldest_opened_at: datetime


class Backlog(BaseModel):
    items: list[BacklogRow]


class ResolutionTimeRow(BaseModel):
    queue_id: str
    queue_name: str | None
    priority: int
    resolved: int
    mean_seconds: float
    mean_business_seconds: float


class ResolutionTimes(BaseModel):
    items: list[ResolutionTimeRow]


class SatisfactionRow(BaseModel):
    queue_id: str | None
    queue_name: str | None
    agent: str | None = None
    ratings: int
    average: float
    distribution: dict[str, int]


class Satisfaction(BaseModel):
    """Customer satisfaction over ``since`` .. ``until`` (open ends: all time)."""

    by: str
    since: datetime | None
    until: datetime | None
    items: list[SatisfactionRow]
