"""The event codec: domain events (frozen dataclasses) to JSON data and back, with upcasting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from uuid import UUID, uuid4

import pytest
from shared_kernel.codec import EventCodec, MalformedEvent, RecordedEvent, UnknownEventType
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope, versioned_type

pytestmark = pytest.mark.unit


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


@dataclass(frozen=True)
class Money:
    amount: int
    currency: str


@dataclass(frozen=True)
class Line:
    account_id: UUID
    side: Side
    money: Money


@dataclass(frozen=True)
class EntryPosted(DomainEvent):
    event_type = "test.EntryPosted"

    entry_id: UUID
    booking_date: date
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class CustomerRenamed(DomainEvent):
    """Version 2 split v1's single ``name`` into ``given_name`` and ``family_name``."""

    event_type = "test.CustomerRenamed"
    version = 2

    customer_id: str
    given_name: str
    family_name: str


def upcast_renamed_v1_v2(data: dict[str, object]) -> dict[str, object]:
    given, _, family = str(data["name"]).partition(" ")
    return {"customer_id": data["customer_id"], "given_name": given, "family_name": family}


def test_nested_dataclasses_survive_a_json_round_trip() -> None:
    codec = EventCodec([EntryPosted])
    event = EntryPosted(
        entry_id=uuid4(),
        booking_date=date(2025, 3, 31),
        lines=(
            Line(uuid4(), Side.DEBIT, Money(1250, "EUR")),
            Line(uuid4(), Side.CREDIT, Money(1250, "EUR")),
        ),
    )
    data = codec.encode(event)
    assert data["booking_date"] == "2025-03-31"
    assert data["lines"][0]["money"] == {"amount": 1250, "currency": "EUR"}
    assert data["lines"][1]["side"] == "credit"
    decoded = codec.decode("test.EntryPosted", 1, data)
    assert decoded == event
    assert isinstance(decoded, EntryPosted) and isinstance(decoded.lines[0].money, Money)


def test_an_old_version_is_upcast_when_decoded() -> None:
    codec = EventCodec([CustomerRenamed])
    codec.register_upcaster("test.CustomerRenamed", 1, upcast_renamed_v1_v2)
    v1 = {"customer_id": "c-1", "name": "Ada Lovelace"}
    assert codec.decode("test.CustomerRenamed", 1, v1) == CustomerRenamed(
        customer_id="c-1", given_name="Ada", family_name="Lovelace"
    )
    v2 = codec.encode(CustomerRenamed("c-2", "Grace", "Hopper"))
    assert codec.decode("test.CustomerRenamed", 2, v2) == CustomerRenamed("c-2", "Grace", "Hopper")


def test_an_old_version_without_upcaster_or_an_unknown_type_is_refused() -> None:
    codec = EventCodec([CustomerRenamed])
    with pytest.raises(UnknownEventType):
        codec.decode("test.CustomerRenamed", 1, {"customer_id": "c-1", "name": "Ada Lovelace"})
    with pytest.raises(UnknownEventType):
        codec.decode("test.NeverHeardOf", 1, {})


def envelope_of(event_type: str, version: int, data: dict[str, object]) -> EventEnvelope:
    return EventEnvelope(
        id=uuid4(),
        source="/test",
        type=versioned_type(event_type, version),
        subject="c-1",
        time=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        data=data,
        stream_type="customer",
        stream_version=1,
        position=1,
        correlation_id="c",
        causation_id="c",
        actor=Actor.system("test"),
    )


def test_a_reader_gets_the_typed_event_upcast_or_nothing_for_a_type_it_does_not_read() -> None:
    codec = EventCodec([CustomerRenamed])
    codec.register_upcaster("test.CustomerRenamed", 1, upcast_renamed_v1_v2)
    old = envelope_of("test.CustomerRenamed", 1, {"customer_id": "c-1", "name": "Ada Lovelace"})
    other = envelope_of("test.SomethingElse", 1, {})
    assert codec.read_all([old, other]) == [
        RecordedEvent(old, CustomerRenamed("c-1", "Ada", "Lovelace"))
    ]
    assert codec.read(other) is None


@pytest.mark.parametrize(
    ("version", "data"),
    [
        (2, {"customer_id": "c-1", "given_name": "Ada"}),  # a field missing
        (2, {"customer_id": "c-1", "given_name": "Ada", "family_name": ["L"]}),  # wrong type
        (1, {"customer_id": "c-1"}),  # the upcaster cannot read it
        (3, {"customer_id": "c-1", "given_name": "Ada", "family_name": "L"}),  # newer than v2
    ],
)
def test_a_malformed_event_of_a_known_type_is_refused(
    version: int, data: dict[str, object]
) -> None:
    codec = EventCodec([CustomerRenamed])
    codec.register_upcaster("test.CustomerRenamed", 1, upcast_renamed_v1_v2)
    with pytest.raises(MalformedEvent):
        codec.read(envelope_of("test.CustomerRenamed", version, data))
