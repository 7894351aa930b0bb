"""The data contracts: every event's JSON Schema is generated from its class, describes the
JSON the kernel writes, and is committed; a change that breaks a committed version fails here
(the gate of ``make test``), naming the type and the field."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal
from uuid import UUID, uuid4

import pytest
from jsonschema import Draft202012Validator
from shared_kernel import contracts
from shared_kernel.codec import EventCodec
from shared_kernel.contracts import Producer, check, event_schema, load_all, write
from shared_kernel.dead_letter_notices import DeadLettered
from shared_kernel.domain import DomainEvent

pytestmark = pytest.mark.unit


def test_the_committed_schemas_match_the_event_classes() -> None:
    """The gate: fails naming the type and field of a breaking change, or asks for
    ``make contracts`` when a schema is missing or out of date."""
    assert check() == []


def test_every_producer_has_a_schema_for_each_event_it_publishes() -> None:
    committed = load_all()
    for producer in contracts.PRODUCERS:
        for cls in contracts.event_classes(producer):
            schema = committed[f"{cls.event_type}.v{cls.version}"]
            assert cls.event_type.startswith(f"{producer.owner}.")
            assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
            assert schema["$id"] == (
                f"http://127.0.0.1:8000/schemas/{producer.owner}/"
                f"{cls.event_type}.v{cls.version}.json"
            )
            assert schema["description"], f"{cls.__name__} has no docstring"
            Draft202012Validator.check_schema(schema)
    assert "ledger.JournalEntryPosted.v1" in committed
    assert "gateway.AccessDecided.v1" in committed  # the audit topic's records
    assert "backoffice.DeadLettered.v1" in committed  # every service's notices, once


class Channel(StrEnum):
    """Where a sample was sent."""

    MAIL = "mail"
    PHONE = "phone"


@dataclass(frozen=True)
class SampleLine:
    """One line. ``cents`` in minor units."""

    account: str
    cents: int


@dataclass(frozen=True)
class SampleHappened(DomainEvent):
    """Something happened to a sample.

    ``channel`` is how it was sent; ``lines`` the amounts. ``note`` is free text."""

    event_type: ClassVar[str] = "sample.SampleHappened"
    version: ClassVar[int] = 1

    sample_id: UUID
    on: date
    at: datetime
    channel: Channel
    outcome: Literal["kept", "dropped"]
    lines: tuple[SampleLine, ...]
    tags: dict[str, int]
    note: str | None = None


def sample() -> SampleHappened:
    return SampleHappened(
        sample_id=uuid4(),
        on=date(2026, 3, 31),
        at=datetime(2026, 3, 31, 12, tzinfo=UTC),
        channel=Channel.PHONE,
        outcome="kept",
        lines=(SampleLine("1200", 1250), SampleLine("8400", -1250)),
        tags={"priority": 2},
    )


def test_a_schema_describes_the_json_the_kernel_writes_and_refuses_other_json() -> None:
    schema = event_schema(SampleHappened)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    data = EventCodec([SampleHappened]).encode(sample())

    assert list(validator.iter_errors(data)) == []
    assert list(validator.iter_errors({k: v for k, v in data.items() if k != "note"})) == []
    for broken in (
        {k: v for k, v in data.items() if k != "lines"},
        {**data, "lines": [{"account": "1200", "cents": "12.50"}]},
        {**data, "channel": "fax"},
        {**data, "outcome": "maybe"},
        {**data, "on": "31.03.2026"},
    ):
        assert list(validator.iter_errors(broken)), broken


def test_titles_and_descriptions_come_from_the_code() -> None:
    schema = event_schema(SampleHappened, base_url="https://office.example")

    assert schema["title"] == "sample.SampleHappened.v1"
    assert schema["$id"] == "https://office.example/schemas/sample/sample.SampleHappened.v1.json"
    assert schema["description"].startswith("Something happened to a sample.")
    properties = schema["properties"]
    assert properties["channel"]["description"] == "``channel`` is how it was sent"
    assert properties["note"]["description"] == "``note`` is free text."
    assert "description" not in properties["on"] and "title" not in properties["on"]
    line = schema["$defs"]["SampleLine"]
    assert line["properties"]["cents"]["description"] == "``cents`` in minor units."
    assert schema["required"] == ["sample_id", "on", "at", "channel", "outcome", "lines", "tags"]


def test_a_kernel_event_with_optional_fields_validates_as_written() -> None:
    notice = DeadLettered("ledger", "ledger_view", "boom", "ledger.events", 3, 42, "ledger.dlq")
    data = EventCodec([DeadLettered]).encode(notice)
    schema = load_all()["backoffice.DeadLettered.v1"]
    assert list(Draft202012Validator(schema).iter_errors(data)) == []


# ---- the gate, end to end: a producer of sample events in a repository of its own -----------


@pytest.fixture
def producer() -> Iterator[tuple[Producer, Any]]:
    """A producer whose event classes a test changes (``module.EVENTS``) as a developer would."""
    module: Any = types.ModuleType("contract_gate_sample")
    module.EVENTS = (SampleHappened,)
    sys.modules[module.__name__] = module
    try:
        events = {"events": f"{module.__name__}:EVENTS"}
        yield Producer("sample", "sample/contracts", events), module
    finally:
        del sys.modules[module.__name__]


def evolve(version: int = 1, **fields: Any) -> type[DomainEvent]:
    """A new definition of the sample event: ``fields`` name -> annotation (or (annotation,
    default))."""
    namespace: dict[str, Any] = {
        "__annotations__": {"event_type": ClassVar[str], "version": ClassVar[int]},
        "event_type": "sample.SampleHappened",
        "version": version,
        "__doc__": "Something happened to a sample.",
    }
    for field_name, spec in fields.items():
        annotation, *default = spec if isinstance(spec, tuple) else (spec,)
        namespace["__annotations__"][field_name] = annotation
        if default:
            namespace[field_name] = default[0]
    return dataclass(frozen=True)(type("SampleHappened", (DomainEvent,), namespace))


BEFORE: dict[str, Any] = {"sample_id": UUID, "amount": int, "note": (str | None, None)}


def test_the_gate_names_the_type_and_field_of_a_breaking_change(
    tmp_path: Path, producer: tuple[Producer, Any]
) -> None:
    sample_producer, module = producer
    module.EVENTS = (evolve(**BEFORE),)
    assert [p.name for p in write(tmp_path, [sample_producer])] == ["sample.SampleHappened.v1.json"]
    assert check(tmp_path, [sample_producer]) == []

    module.EVENTS = (evolve(sample_id=UUID, amount=str, note=(str | None, None)),)
    (problem,) = check(tmp_path, [sample_producer])
    assert problem.startswith("sample.SampleHappened.v1: breaking change")
    assert "field `amount` changed type from integer to string" in problem
    assert "sample.SampleHappened.v2" in problem

    module.EVENTS = (evolve(sample_id=UUID, total=int, note=(str | None, None)),)
    problems = check(tmp_path, [sample_producer])
    assert any("field `amount` removed" in p for p in problems), problems
    assert any("new required field `total`" in p for p in problems), problems


def test_an_optional_field_is_compatible_but_asks_for_make_contracts(
    tmp_path: Path, producer: tuple[Producer, Any]
) -> None:
    sample_producer, module = producer
    module.EVENTS = (evolve(**BEFORE),)
    write(tmp_path, [sample_producer])

    module.EVENTS = (evolve(**BEFORE, currency=(str, "EUR")),)
    assert check(tmp_path, [sample_producer]) == [
        "sample.SampleHappened.v1: sample/contracts/sample.SampleHappened.v1.json is out of "
        "date; run `make contracts`"
    ]
    write(tmp_path, [sample_producer])
    assert check(tmp_path, [sample_producer]) == []


def test_a_new_version_adds_a_file_and_the_old_version_stays(
    tmp_path: Path, producer: tuple[Producer, Any]
) -> None:
    sample_producer, module = producer
    module.EVENTS = (evolve(**BEFORE),)
    write(tmp_path, [sample_producer])
    v1 = (tmp_path / "sample/contracts/sample.SampleHappened.v1.json").read_text()

    module.EVENTS = (evolve(version=2, sample_id=UUID, total=int),)
    assert check(tmp_path, [sample_producer]) == [
        "sample.SampleHappened.v2: no committed schema; run `make contracts`"
    ]
    write(tmp_path, [sample_producer])
    assert check(tmp_path, [sample_producer]) == []
    assert (tmp_path / "sample/contracts/sample.SampleHappened.v1.json").read_text() == v1
    assert set(load_all(tmp_path, [sample_producer])) == {
        "sample.SampleHappened.v1",
        "sample.SampleHappened.v2",
    }

    module.EVENTS = ()
    assert sorted(check(tmp_path, [sample_producer])) == [
        f"sample.SampleHappened.v{n}: committed, but no event class produces "
        "sample.SampleHappened now"
        for n in (1, 2)
    ]


def test_the_files_are_pretty_sorted_and_end_with_a_newline(
    tmp_path: Path, producer: tuple[Producer, Any]
) -> None:
    write(tmp_path, [producer[0]])
    text = (tmp_path / "sample/contracts/sample.SampleHappened.v1.json").read_text()
    assert text.endswith("}\n") and text.startswith('{\n  "$defs"')
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
