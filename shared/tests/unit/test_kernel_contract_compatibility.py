"""The rules that tell a breaking change of an event schema from a compatible one, on small
schemas shaped as the generator writes them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from shared_kernel.contract_compatibility import breaking_changes

pytestmark = pytest.mark.unit

NULLABLE_TEXT = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
BASE: dict[str, Any] = {
    "$id": "http://127.0.0.1:8000/schemas/ledger/ledger.Sample.v1.json",
    "title": "ledger.Sample.v1",
    "type": "object",
    "properties": {
        "entry_id": {"type": "string"},
        "amount": {"type": "integer"},
        "booked_on": {"type": "string", "format": "date"},
        "side": {"enum": ["debit", "credit"], "type": "string"},
        "note": NULLABLE_TEXT,
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["entry_id", "amount", "booked_on", "side", "lines"],
    "$defs": {
        "Line": {
            "title": "Line",
            "type": "object",
            "properties": {"account": {"type": "string"}, "cents": {"type": "integer"}},
            "required": ["account", "cents"],
        }
    },
}


def changed(path: str, value: Any = None, *, delete: bool = False) -> dict[str, Any]:
    """BASE with the keyword at ``path`` (``/``-separated) replaced or deleted."""
    schema = copy.deepcopy(BASE)
    *parents, last = path.split("/")
    target = schema
    for part in parents:
        target = target[part]
    if delete:
        del target[last]
    else:
        target[last] = value
    return schema


def test_the_same_schema_is_compatible() -> None:
    assert breaking_changes(BASE, copy.deepcopy(BASE)) == []


@pytest.mark.parametrize(
    ("new", "named"),
    [
        (changed("properties/amount", delete=True), "field `amount` removed"),
        (changed("properties/amount", {"type": "string"}), "field `amount` changed type"),
        (changed("properties/note", {"type": "string"}), "field `note` changed type"),
        (changed("properties/booked_on/format", "date-time"), "field `booked_on` changed format"),
        (changed("properties/side/enum", ["debit"]), "field `side` narrowed its enumeration"),
        (changed("properties/entry_id/enum", ["a"]), "field `entry_id` is now restricted"),
        (changed("$defs/Line/properties/cents", {"type": "number"}), "`lines[].cents` changed"),
        (changed("$defs/Line/properties/account", delete=True), "`lines[].account` removed"),
        (changed("properties/metadata/additionalProperties", {"type": "integer"}), "metadata{}"),
        (changed("properties/lines/items", {"type": "string"}), "field `lines[]` changed type"),
        (changed("type", "array"), "the event's data changed type"),
    ],
)
def test_a_breaking_change_is_named_with_its_field(new: dict[str, Any], named: str) -> None:
    found = breaking_changes(BASE, new)
    assert any(named in breach for breach in found), found


def test_a_renamed_field_is_a_removed_one_and_a_new_required_one() -> None:
    renamed = copy.deepcopy(BASE)
    renamed["properties"]["sum"] = renamed["properties"].pop("amount")
    renamed["required"] = [name.replace("amount", "sum") for name in renamed["required"]]

    assert breaking_changes(BASE, renamed) == [
        "field `amount` removed (or renamed)",
        "new required field `sum`",
    ]


def test_a_new_required_field_breaks_and_a_new_optional_one_does_not() -> None:
    required = changed("properties/currency", {"type": "string"})
    required["required"] = [*BASE["required"], "currency"]
    optional = changed("properties/currency", {"type": "string", "default": "EUR"})

    assert breaking_changes(BASE, required) == ["new required field `currency`"]
    assert breaking_changes(BASE, optional) == []


def test_an_optional_field_that_becomes_required_breaks() -> None:
    stricter = changed("required", [*BASE["required"], "note"])
    assert breaking_changes(BASE, stricter) == ["field `note` became required"]


def test_a_wider_enumeration_and_new_descriptions_are_compatible() -> None:
    wider = changed("properties/side/enum", ["debit", "credit", "memo"])
    described = changed("properties/amount/description", "minor units")
    described["description"] = "A sample event."
    described["$id"] = "https://elsewhere.example/schemas/ledger/ledger.Sample.v1.json"

    assert breaking_changes(BASE, wider) == []
    assert breaking_changes(BASE, described) == []


def test_a_reference_is_compared_by_what_it_refers_to() -> None:
    inlined = copy.deepcopy(BASE)
    inlined["properties"]["lines"]["items"] = copy.deepcopy(BASE["$defs"]["Line"])
    del inlined["$defs"]

    assert breaking_changes(BASE, inlined) == []
