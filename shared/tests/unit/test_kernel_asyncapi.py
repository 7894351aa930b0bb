"""The AsyncAPI document of every topic: valid against the official AsyncAPI 3.0.0 JSON Schema
(vendored in ``contract_data/``, see its README), and true to the kernel's topics."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from shared_kernel.asyncapi import asyncapi_document, cloudevent_schema
from shared_kernel.contracts import PRODUCERS, load_all
from shared_kernel.envelope import Actor, EventEnvelope

pytestmark = pytest.mark.unit

ASYNCAPI_SCHEMA = Path(__file__).parents[1] / "contract_data" / "asyncapi-3.0.0-without-id.json"
BASE = "https://office.example"


def asyncapi_validator() -> Draft7Validator:
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema"
    assert schema["properties"]["asyncapi"]["const"] == "3.0.0"
    return Draft7Validator(schema)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document(load_all(), base_url=BASE, partitions=6, namespace="t1.")


def test_the_document_is_valid_asyncapi_3(document: dict[str, Any]) -> None:
    errors = asyncapi_validator().iter_errors(document)
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("asyncapi",), "2.6.0"),
        (("operations", "ledger.send.events", "action"), "publish"),  # AsyncAPI 2's word
        (("channels", "ledger.events", "bindings", "kafka", "partitions"), 0),
        (("info",), {"version": "1"}),
    ],
)
def test_the_validation_refuses_what_asyncapi_3_does_not_allow(
    document: dict[str, Any], where: tuple[str, ...], value: Any
) -> None:
    broken = copy.deepcopy(document)
    target = broken
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    assert list(asyncapi_validator().iter_errors(broken))


def test_every_topic_of_every_service_is_a_channel(document: dict[str, Any]) -> None:
    channels = document["channels"]
    for service in ("ledger", "tickets", "risk", "gateway"):
        for suffix in ("events", "dead-letters", "dead-letter-notices"):
            assert channels[f"{service}.{suffix}"]["address"] == f"t1.{service}.{suffix}"
    assert channels["gateway.audit"]["address"] == "t1.gateway.audit"
    events = channels["ledger.events"]["bindings"]["kafka"]
    assert events["partitions"] == 6 and events["topic"] == "t1.ledger.events"
    assert events["topicConfiguration"]["retention.ms"] == -1  # events are kept for ever
    assert channels["ledger.dead-letters"]["bindings"]["kafka"]["partitions"] == 1


def test_each_event_type_and_version_is_a_message_on_its_topic(document: dict[str, Any]) -> None:
    schemas = load_all()
    on_channels = {
        type_: channel
        for channel, definition in document["channels"].items()
        if not channel.endswith("dead-letter-notices")
        for type_ in definition["messages"]
    }
    for type_ in schemas:
        if type_.startswith("backoffice."):
            for service in ("ledger", "tickets", "risk", "gateway"):
                assert type_ in document["channels"][f"{service}.dead-letter-notices"]["messages"]
        else:
            assert on_channels[type_] == (
                "gateway.audit"
                if type_ == "gateway.AccessDecided.v1"
                else f"{type_.split('.')[0]}.events"
            )
    posted = document["components"]["messages"]["ledger.JournalEntryPosted.v1"]
    url = f"{BASE}/schemas/ledger/ledger.JournalEntryPosted.v1.json"
    envelope, specific = posted["payload"]["allOf"]
    assert envelope == {"$ref": "#/components/schemas/CloudEvent"}
    assert specific["properties"]["data"] == {"$ref": url}
    assert specific["properties"]["type"] == {"const": "ledger.JournalEntryPosted.v1"}
    assert posted["contentType"] == "application/cloudevents+json"
    assert "stream id" in posted["bindings"]["kafka"]["key"]["description"]


def test_operations_say_who_writes_and_who_reads_each_topic(document: dict[str, Any]) -> None:
    operations = document["operations"]
    assert operations["ledger.send.events"]["action"] == "send"
    assert operations["risk.receive.ledger.events"]["channel"] == {
        "$ref": "#/channels/ledger.events"
    }
    readers = {op.split(".receive.")[0] for op in operations if op.endswith("receive.risk.events")}
    assert readers == {"ledger", "tickets", "risk", "gateway"}
    sent = operations["gateway.send.audit"]["messages"]
    assert sent == [{"$ref": "#/channels/gateway.audit/messages/gateway.AccessDecided.v1"}]
    for producer in PRODUCERS:
        for topic in producer.reads:
            assert f"{producer.owner}.receive.{topic}" in operations


def test_the_envelope_schema_describes_the_cloudevents_the_kernel_writes() -> None:
    event = EventEnvelope(
        id=uuid4(),
        source="/ledger",
        type="ledger.JournalEntryPosted.v1",
        subject="entry-1",
        time=datetime(2026, 3, 31, tzinfo=UTC),
        data={"entry_id": "entry-1"},
        stream_type="journal_entry",
        stream_version=1,
        position=7,
        correlation_id="case-1",
        causation_id="case-1",
        actor=Actor("user:anna", "back"),
    ).to_cloudevent()
    schema = cloudevent_schema()
    for validator in (Draft7Validator(schema), Draft202012Validator(schema)):
        assert list(validator.iter_errors(event)) == []
        assert list(validator.iter_errors({**event, "specversion": "0.3"}))
        assert list(validator.iter_errors({k: v for k, v in event.items() if k != "subject"}))


def test_what_each_service_reads_is_what_its_runtime_consumes(tmp_path: Path) -> None:
    """``Producer.reads`` (the receive operations) against the topics each service's
    projections and inboxes subscribe to, as its composition root builds them."""
    from gateway.bootstrap import bootstrap as gateway
    from gateway.settings import GatewaySettings
    from ledger.bootstrap import bootstrap as ledger
    from risk.bootstrap import bootstrap as risk
    from shared_kernel.identity import ensure_keypair
    from shared_kernel.runtime import ServiceRuntime
    from tickets.bootstrap import bootstrap as tickets

    private, public = ensure_keypair(tmp_path / "keys")
    gateway_settings = GatewaySettings(
        identity_private_key_file=private,
        identity_public_key_file=public,
        services={s: f"http://{s}.test" for s in ("ledger", "tickets", "risk")},
    )
    runtimes: dict[str, ServiceRuntime] = {
        "ledger": ledger().runtime,
        "tickets": tickets().runtime,
        "risk": risk().runtime,
        "gateway": gateway(gateway_settings).runtime,
    }
    for producer in PRODUCERS:
        if not producer.service:
            continue
        runtime = runtimes.pop(producer.owner)
        consumed = {t for p in runtime.projections for t in p.topics}
        consumed |= {t for h in runtime.inboxes for t in h.topics}
        assert set(producer.reads) == consumed, producer.owner
    assert runtimes == {}, "a service is missing from contracts.PRODUCERS"
