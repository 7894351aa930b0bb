"""An audit record's CloudEvent: its data is the decision's fields (``AccessDecided``), in their
order, with the roles as a list; the record reads back as the same decision."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pytest
from gateway.adapters.audit import AuditRecord
from gateway.domain.access_decisions import AccessDecided
from gateway.projections.audit_decisions import AuditDecisions
from shared_kernel.envelope import EventEnvelope

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "optional",
    [{}, {"target": "case-1", "forwarded_client": "10.0.0.7", "client_request_id": "c-1"}],
)
def test_the_data_is_the_decision_as_asdict_gives_it(optional: dict[str, Any]) -> None:
    record = AuditRecord(
        time=datetime(2026, 12, 3, 21, 0, tzinfo=UTC),
        request_id="r-1",
        subject="ada",
        kind="user",
        office="back",
        roles=("accountant", "auditor"),
        method="GET",
        route="/ledger/v1/accounts/{account_id}",
        path="/ledger/v1/accounts/Öl",
        status=200,
        decision="allow",
        reason="PolicyAllowed",
        client="127.0.0.1",
        **optional,
    )
    fields = {k: v for k, v in asdict(record).items() if k not in ("id", "time")}
    expected = {**asdict(AccessDecided(**fields)), "roles": ["accountant", "auditor"]}

    envelope = EventEnvelope.from_json_bytes(record.to_json_bytes())

    assert record.event() == AccessDecided(**fields)
    assert list(envelope.data.items()) == list(expected.items())
    row = AuditDecisions("gateway.audit").row(envelope)
    assert row is not None and (row["record_id"], row["path"]) == (record.id, record.path)
