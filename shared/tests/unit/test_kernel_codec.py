"""The event codec: domain events (frozen dataclasses) to JSON data and back, with upcasting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from uuid import UUID, uuid4

import pytest
from shared_kernel.codec import EventCodec, UnknownEventType
from shared_kernel.domain import DomainEvent

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
