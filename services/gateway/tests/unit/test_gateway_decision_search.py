"""Searching the audit trail: filters and cursors checked before any query, the route closed
to everyone but auditors and administrators, and an audit record read back as a row exactly as
the kernel's projection machinery reads it from the topic."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from gateway.adapters.audit import AuditRecord
from gateway.bootstrap import Gateway
from gateway.domain.decision_search import (
    DEFAULT_PAGE,
    DecisionCursor,
    DecisionSearch,
    InvalidSearch,
)
from gateway.main import create_app
from gateway.projections.audit_decisions import AuditDecisions
from gateway.settings import GatewaySettings
from pydantic import ValidationError
from shared_kernel.codec import MalformedEvent
from shared_kernel.envelope import EnvelopeError, EventEnvelope
from shared_kernel.identity import Caller, ensure_keypair

from .conftest import InMemoryCallers

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


def test_a_search_without_filters_is_the_newest_page() -> None:
    search = DecisionSearch.of()

    assert search == DecisionSearch(limit=DEFAULT_PAGE)
    assert search.after is None


def test_every_filter_is_kept_as_given() -> None:
    cursor = DecisionCursor(T0, uuid4())

    search = DecisionSearch.of(
        subject="tom",
        outcome="deny",
        status=403,
        path_prefix="/ledger/",
        request_id="r-1",
        since=T0 - timedelta(hours=1),
        until=T0,
        limit=200,
        cursor=cursor.encode(),
    )

    assert (search.subject, search.outcome, search.status) == ("tom", "deny", 403)
    assert (search.path_prefix, search.request_id, search.limit) == ("/ledger/", "r-1", 200)
    assert (search.since, search.until, search.after) == (T0 - timedelta(hours=1), T0, cursor)


@pytest.mark.parametrize(
    ("filters", "field", "code"),
    [
        ({"outcome": "maybe"}, "outcome", "InvalidOutcome"),
        ({"status": 99}, "status", "InvalidStatus"),
        ({"status": 600}, "status", "InvalidStatus"),
        ({"path_prefix": "ledger/"}, "path_prefix", "InvalidPathPrefix"),
        ({"path_prefix": "/" + "x" * 600}, "path_prefix", "FilterTooLong"),
        ({"subject": ""}, "subject", "EmptyFilter"),
        ({"subject": "t\x00m"}, "subject", "InvalidCharacter"),
        ({"request_id": "r" * 201}, "request_id", "FilterTooLong"),
        ({"limit": 0}, "limit", "InvalidLimit"),
        ({"limit": 201}, "limit", "InvalidLimit"),
        ({"since": datetime(2026, 3, 2, 9, 0)}, "since", "TimeWithoutZone"),
        ({"until": datetime(2026, 3, 2, 9, 0)}, "until", "TimeWithoutZone"),
        (
            {"since": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))},
            "since",
            "TimeOutOfRange",
        ),
        (
            {"until": datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2)))},
            "until",
            "TimeOutOfRange",
        ),
        ({"since": T0, "until": T0}, "until", "EmptyInterval"),
        ({"since": T0, "until": T0 - timedelta(seconds=1)}, "until", "EmptyInterval"),
        ({"cursor": "not-a-cursor"}, "cursor", "InvalidCursor"),
        ({"cursor": "d1.%%%"}, "cursor", "InvalidCursor"),
        ({"cursor": "d1.e30"}, "cursor", "InvalidCursor"),  # {} : no time, no id
    ],
)
def test_an_unusable_filter_is_refused_with_its_field_named(
    filters: dict[str, Any], field: str, code: str
) -> None:
    with pytest.raises(InvalidSearch) as refused:
        DecisionSearch.of(**filters)

    assert (refused.value.field, refused.value.code, refused.value.status) == (field, code, 422)


def test_times_in_another_zone_are_the_same_instants() -> None:
    cet = timezone(timedelta(hours=1))

    search = DecisionSearch.of(since=datetime(2026, 3, 2, 10, 0, tzinfo=cet), until=T0)

    assert search.since == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert search.since is not None and search.since.tzinfo is UTC


def test_a_cursor_gives_back_the_exact_time_and_id_it_was_made_of() -> None:
    cursor = DecisionCursor(T0, uuid4())

    text = cursor.encode()

    assert DecisionCursor.decode(text) == cursor
    assert str(cursor.record_id) not in text  # opaque: not a parameter to edit by hand


@pytest.mark.parametrize(
    "time",
    [
        datetime(2026, 3, 2, 9, 0),  # no zone
        datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=2))),  # before year 1 in UTC
    ],
)
def test_a_cursor_whose_time_is_no_instant_is_refused(time: datetime) -> None:
    forged = DecisionCursor(time, uuid4()).encode()

    with pytest.raises(InvalidSearch) as refused:
        DecisionCursor.decode(forged)

    assert (refused.value.field, refused.value.code) == ("cursor", "InvalidCursor")


# The audit record as the projection reads it.


def record(**changes: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "time": T0,
        "request_id": "req-1",
        "subject": "tom",
        "kind": "user",
        "office": "front",
        "roles": ("trader",),
        "method": "POST",
        "route": "/ledger/v1/journal-entries",
        "path": "/ledger/v1/journal-entries",
        "status": 403,
        "decision": "deny",
        "reason": "RoleMissing",
        "client": "10.0.0.7",
        "client_request_id": "client-abc-1",
    }
    return AuditRecord(**(values | changes))


def test_an_audit_record_is_a_kernel_envelope_and_its_row_says_what_was_decided() -> None:
    audited = record()
    # As the kernel's projection writer decodes every message of a topic.
    envelope = EventEnvelope.from_json_bytes(audited.to_json_bytes())

    row = AuditDecisions("gateway.audit").row(envelope)

    assert row == {
        "record_id": audited.id,
        "time": T0,
        "subject": "tom",
        "subject_kind": "user",
        "office": "front",
        "roles": ["trader"],
        "method": "POST",
        "route": "/ledger/v1/journal-entries",
        "path": "/ledger/v1/journal-entries",
        "target": None,
        "status": 403,
        "outcome": "deny",
        "reason": "RoleMissing",
        "client": "10.0.0.7",
        "forwarded_client": None,
        "request_id": "req-1",
        "client_request_id": "client-abc-1",
    }
    assert (envelope.correlation_id, envelope.actor.subject) == ("req-1", "tom")


def test_a_record_whose_data_does_not_validate_is_poison() -> None:
    envelope = EventEnvelope.from_json_bytes(record().to_json_bytes())
    broken = EventEnvelope.from_cloudevent(
        envelope.to_cloudevent() | {"data": {**envelope.data, "decision": "perhaps"}}
    )

    with pytest.raises(MalformedEvent):
        AuditDecisions("gateway.audit").row(broken)


def test_another_type_of_event_on_the_topic_makes_no_row() -> None:
    envelope = EventEnvelope.from_json_bytes(record().to_json_bytes())
    other = EventEnvelope.from_cloudevent(
        envelope.to_cloudevent() | {"type": "gateway.SomethingElse.v1"}
    )

    assert AuditDecisions("gateway.audit").row(other) is None


# The route over HTTP: refusals answered before the read model is asked (no database here).


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    gateway: Gateway
    callers: InMemoryCallers

    def bearer(self, username: str) -> dict[str, str]:
        # The token's roles do not matter: the gateway acts on the operator's current roles.
        identity = Caller(username, frozenset({"admin"}), "none", request_id="login")
        return {"Authorization": f"Bearer {self.gateway.issue_access_token(identity)}"}


@pytest.fixture
async def harness(tmp_path: Path, callers: InMemoryCallers) -> AsyncIterator[Harness]:
    callers.add_operator("ida", "auditor")
    callers.add_operator("root", "admin")
    callers.add_operator("tom", "trader")
    callers.add_operator("anna", "accountant")
    private, public = ensure_keypair(tmp_path / "keys")
    settings = GatewaySettings(
        environment="test",
        identity_private_key_file=private,
        identity_public_key_file=public,
        services={"ledger": "http://ledger.test"},
    )
    app = create_app(settings, callers=callers)
    gateway: Gateway = app.state.gateway
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://gw.test"
    ) as client:
        yield Harness(app, client, gateway, callers)
    await gateway.runtime.engine.dispose()


SEARCH = "/audit/v1/decisions"


async def test_without_credentials_the_search_asks_for_a_log_in(harness: Harness) -> None:
    answer = await harness.client.get(SEARCH)

    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("username", ["tom", "anna"])
async def test_operators_without_an_oversight_role_are_refused(
    harness: Harness, username: str
) -> None:
    answer = await harness.client.get(SEARCH, headers=harness.bearer(username))

    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "AuditorRequired"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=abc", "query.status"),
        ("status=700", "query.status"),
        ("outcome=maybe", "query.outcome"),
        ("limit=0", "query.limit"),
        ("limit=201", "query.limit"),
        ("since=yesterday", "query.since"),
        ("since=2026-03-02T09:00:00", "since"),
        ("since=2026-03-02T10:00:00Z&until=2026-03-02T09:00:00Z", "until"),
        ("since=0001-01-01T00:00:00%2B01:00", "since"),
        ("path_prefix=ledger", "path_prefix"),
        ("subject=", "subject"),
        ("subject=t%01m", "query.subject"),  # (a NUL is refused earlier, 400)
        ("cursor=forged", "cursor"),
    ],
)
async def test_an_unusable_filter_is_a_problem_naming_it(
    harness: Harness, query: str, field: str
) -> None:
    for username in ("ida", "root"):
        answer = await harness.client.get(f"{SEARCH}?{query}", headers=harness.bearer(username))

        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["field"] == field


async def test_a_system_holding_the_auditor_role_may_search(harness: Harness) -> None:
    _, key = harness.callers.add_system("audit-export", "auditor")
    _, other = harness.callers.add_system("booking-robot", "accountant")

    # Past the role check: its unusable filter is what it hears about (no database here).
    allowed = await harness.client.get(f"{SEARCH}?limit=0", headers={"X-API-Key": key.text})
    refused = await harness.client.get(f"{SEARCH}?limit=0", headers={"X-API-Key": other.text})

    assert (allowed.status_code, allowed.json()["field"]) == (422, "query.limit")
    assert (refused.status_code, refused.json()["code"]) == (403, "AuditorRequired")


def test_the_search_is_described_in_the_gateways_api(harness: Harness) -> None:
    operation = harness.app.openapi()["paths"][SEARCH]["get"]

    schemes = {name for requirement in operation["security"] for name in requirement}
    assert schemes == {"HTTPBearer", "APIKeyHeader"}
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} == {
        "subject", "outcome", "status", "path_prefix", "request_id", "since", "until", "limit",
        "cursor",
    }  # fmt: skip


def test_the_audit_read_model_is_one_of_the_gateways_projections(harness: Harness) -> None:
    # So that the runtime runs it and ``python -m gateway rebuild`` rebuilds it.
    runtime = harness.gateway.runtime

    [projection] = [p for p in runtime.projections if isinstance(p, AuditDecisions)]

    assert tuple(projection.topics) == (harness.gateway.audit.topic,) == ("gateway.audit",)
    assert projection.name in runtime.read_models


def test_no_service_may_be_called_audit(tmp_path: Path) -> None:
    private, public = ensure_keypair(tmp_path / "keys")

    with pytest.raises(ValidationError, match="reserved"):
        GatewaySettings(
            environment="test",
            identity_private_key_file=private,
            identity_public_key_file=public,
            services={"audit": "http://audit.test"},
        )


def test_a_record_written_before_the_envelope_reads_as_one_and_makes_the_same_row() -> None:
    audited = record()
    # The shape of the audit topic before issue 13: a plain CloudEvent, no stream fields.
    legacy = {
        key: value
        for key, value in audited.to_cloudevent().items()
        if key not in ("streamtype", "streamversion", "position", "causationid", "actor")
        and key != "actoroffice"
    }
    projection = AuditDecisions("gateway.audit")

    envelope = projection.envelope_of(json.dumps(legacy).encode())

    assert projection.row(envelope) == projection.row(
        projection.envelope_of(audited.to_json_bytes())
    )


def test_a_record_that_is_not_json_cannot_be_decoded() -> None:
    with pytest.raises(EnvelopeError):
        AuditDecisions("gateway.audit").envelope_of(b"\xff not json")
