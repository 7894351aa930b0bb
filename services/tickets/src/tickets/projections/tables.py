"""Read-model tables of the tickets service (placeholder schema ``read_model``).

``tickets`` keeps each ticket's SLA state (``sla_state``, the fold of its events) beside the
four deadlines computed from it, so the SLA scheduler finds due tickets through partial
indexes (only clocks whose alarm has not fired yet are indexed) and a rebuild recomputes the
same deadlines from the same events. ``search`` is a generated tsvector over title and
description (GIN index) for full-text search.
"""

from __future__ import annotations

import sqlalchemy as sa
from shared_kernel.readmodel import READ_MODEL_SCHEMA
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

metadata = sa.MetaData(schema=READ_MODEL_SCHEMA)

queues = sa.Table(
    "queues",
    metadata,
    sa.Column("queue_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("escalation_group", sa.Text, nullable=False),
    sa.Column("auto_assign", sa.Boolean, nullable=False),
    sa.Column("sla_policy", JSONB, nullable=False),
    sa.Column("priority_matrix", JSONB, nullable=False),
    # [{"member": "user:alice", "available": true}, ...] in membership (round-robin) order
    sa.Column("members", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

SEARCH_EXPRESSION = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, ''))"

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("ticket_id", sa.Text, primary_key=True),
    sa.Column("ticket_type", sa.Text, nullable=False),
    sa.Column("queue_id", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("configuration_item", sa.Text, nullable=True),
    sa.Column("requester", sa.Text, nullable=False),
    sa.Column("requester_kind", sa.Text, nullable=False),
    sa.Column("impact", sa.Integer, nullable=False),
    sa.Column("urgency", sa.Integer, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("assignee", sa.Text, nullable=True),
    sa.Column("escalated_to", sa.Text, nullable=True),
    sa.Column("merged_into", sa.Text, nullable=True),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    # Time to resolve of the last resolution: wall clock and business time (SLA calendar).
    sa.Column("resolution_seconds", sa.BigInteger, nullable=True),
    sa.Column("resolution_business_seconds", sa.BigInteger, nullable=True),
    sa.Column("alert_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_alert_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("sla_state", JSONB, nullable=False),
    sa.Column("first_response_warning_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolution_warning_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("first_response_warned", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("first_response_breached", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("resolution_warned", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("resolution_breached", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("search", TSVECTOR, sa.Computed(SEARCH_EXPRESSION, persisted=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Index("ix_tickets_queue_status_priority", "queue_id", "status", "priority"),
    sa.Index("ix_tickets_assignee", "assignee"),
    sa.Index("ix_tickets_requester", "requester"),
    sa.Index("ix_tickets_search", "search", postgresql_using="gin"),
    # The SLA scheduler's candidates: deadlines whose alarm has not fired yet.
    sa.Index(
        "ix_tickets_fr_warning_due",
        "first_response_warning_at",
        postgresql_where=sa.text("NOT first_response_warned"),
    ),
    sa.Index(
        "ix_tickets_fr_breach_due",
        "first_response_due_at",
        postgresql_where=sa.text("NOT first_response_breached"),
    ),
    sa.Index(
        "ix_tickets_res_warning_due",
        "resolution_warning_at",
        postgresql_where=sa.text("NOT resolution_warned"),
    ),
    sa.Index(
        "ix_tickets_res_breach_due",
        "resolution_due_at",
        postgresql_where=sa.text("NOT resolution_breached"),
    ),
)

ticket_messages = sa.Table(
    "ticket_messages",
    metadata,
    sa.Column("message_id", sa.Text, primary_key=True),
    sa.Column("ticket_id", sa.Text, nullable=False, index=True),
    sa.Column("internal", sa.Boolean, nullable=False),
    sa.Column("by_agent", sa.Boolean, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

ticket_links = sa.Table(
    "ticket_links",
    metadata,
    sa.Column("ticket_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("target_id", sa.Text, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
