"""What a data team relies on, checked on the topics themselves: every record of a topic
namespace, from offset zero, is a back-office CloudEvent whose ``data`` validates against the
committed JSON Schema of its ``type`` (``services/<service>/contracts/<type>.json``).

A dead-letter topic (``<ns><service>.dead-letters``) holds copies of records a consumer could
not handle, on purpose and as they were (maybe not even JSON): its records are not checked as
events. Each must say where it came from (the ``dlq.*`` headers, naming a topic of the same
namespace), and each is reported, so that a run that dead-letters is seen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiokafka import ConsumerRecord
from jsonschema import Draft202012Validator
from shared_kernel.asyncapi import cloudevent_schema

from tests.e2e.topics_from_start import records_from_start

ROOT = Path(__file__).resolve().parents[2]
DEAD_LETTERS = ".dead-letters"
# A schema file is named after the versioned CloudEvent type it describes.
SCHEMA_FILE = re.compile(r"[\w.-]+\.v\d+\.json")
DLQ_HEADERS = ("dlq.projection", "dlq.error", "dlq.topic", "dlq.partition", "dlq.offset")
# The CloudEvents attributes every back-office event carries (the envelope's schema names them).
ATTRIBUTES = tuple(cloudevent_schema()["required"])


@dataclass(frozen=True)
class Contract:
    """The committed schema of one event type and version, and where it lies. ``ids``: the
    ``$id`` of every file of that type (a kernel event, such as a dead-letter notice, may be
    committed beside each service that publishes it, each under its own ``$id``)."""

    path: Path
    schema: dict[str, Any]
    validator: Draft202012Validator
    ids: frozenset[str] = frozenset()


#: Where schemas are committed: beside each service, and the kernel's own events maybe once.
CONTRACT_FOLDERS = ("services/*/contracts", "shared/contracts", "shared/*/contracts")


def committed_contracts(root: Path = ROOT) -> dict[str, Contract]:
    """Every committed schema by the CloudEvent ``type`` it describes (its file name)."""
    contracts: dict[str, Contract] = {}
    paths = sorted({p for folder in CONTRACT_FOLDERS for p in root.glob(f"{folder}/*.v*.json")})
    for path in paths:
        if not SCHEMA_FILE.fullmatch(path.name):
            continue
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        event_type = path.name.removesuffix(".json")
        ids = {str(schema["$id"])} if "$id" in schema else set()
        if event_type in contracts:  # the same type again: one more $id it may name
            first = contracts[event_type]
            contracts[event_type] = Contract(
                first.path, first.schema, first.validator, first.ids | ids
            )
            continue
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        contracts[event_type] = Contract(path, schema, validator, frozenset(ids))
    return contracts


@dataclass(frozen=True)
class Failure:
    """One record that breaks the contract, and why (``field``: where in the record)."""

    topic: str
    partition: int
    offset: int
    type: str
    field: str
    problem: str

    def __str__(self) -> str:
        return (
            f"{self.topic}[{self.partition}]@{self.offset} {self.type or '?'} "
            f"{self.field}: {self.problem}"
        )


@dataclass
class Checked:
    """What a check read: records per topic, dead letters seen, and every failure."""

    records: dict[str, int]
    dead_letters: list[str]
    failures: list[Failure]
    types: set[str]


async def read_namespaces(
    bootstrap: str, namespaces: Sequence[str]
) -> dict[str, list[ConsumerRecord[bytes, bytes]]]:
    """Every record of every topic of these namespaces, from offset zero."""
    settings = {"bootstrap_servers": bootstrap}
    return await records_from_start(settings, lambda topic: topic.startswith(tuple(namespaces)))


def check_topics(
    read: dict[str, list[ConsumerRecord[bytes, bytes]]],
    contracts: dict[str, Contract],
    namespaces: Iterable[str],
) -> Checked:
    checked = Checked({t: len(r) for t, r in read.items()}, [], [], set())
    prefixes = tuple(namespaces)
    for topic, records in read.items():
        for record in records:
            if topic.endswith(DEAD_LETTERS):
                checked.failures += dead_letter_failures(record, prefixes)
                checked.dead_letters.append(f"{topic}[{record.partition}]@{record.offset}")
                continue
            failures, event_type = event_failures(record, contracts)
            checked.failures += failures
            checked.types.add(event_type)
    return checked


def event_failures(
    record: ConsumerRecord[bytes, bytes], contracts: dict[str, Contract]
) -> tuple[list[Failure], str]:
    """Why ``record`` is not a valid back-office CloudEvent of a committed contract."""

    def failure(event_type: str, field: str, problem: str) -> Failure:
        return Failure(record.topic, record.partition, record.offset, event_type, field, problem)

    try:
        event = json.loads(record.value or b"")
    except ValueError as exc:
        return [failure("", "(record)", f"not JSON: {exc}")], ""
    if not isinstance(event, dict):
        return [failure("", "(record)", "not a JSON object")], ""
    event_type = str(event.get("type", ""))
    missing = [name for name in ATTRIBUTES if name not in event]
    if missing:
        return [failure(event_type, name, "attribute missing") for name in missing], event_type
    found: list[Failure] = []
    if event["specversion"] != "1.0":
        found.append(failure(event_type, "specversion", f"{event['specversion']!r} is not 1.0"))
    if event["datacontenttype"] != "application/json":
        found.append(failure(event_type, "datacontenttype", repr(event["datacontenttype"])))
    contract = contracts.get(event_type)
    if contract is None:
        return [*found, failure(event_type, "type", "no committed schema")], event_type
    # The committed ``$id`` names the default schema server; a deployment serves the same path
    # from its own gateway (``SCHEMA_BASE_URL``): the path is what must match.
    ids = {urlsplit(i).path for i in contract.ids or {contract.schema.get("$id")} - {None}}
    if ids and urlsplit(str(event["dataschema"])).path not in ids:
        named = " or ".join(sorted(map(repr, ids)))
        found.append(failure(event_type, "dataschema", f"{event['dataschema']!r} is not {named}"))
    for error in contract.validator.iter_errors(event["data"]):
        where = "".join(f"[{part!r}]" for part in error.absolute_path)
        found.append(failure(event_type, f"data{where}", error.message))
    return found, event_type


def dead_letter_failures(
    record: ConsumerRecord[bytes, bytes], namespaces: tuple[str, ...]
) -> list[Failure]:
    """A dead letter must say which consumer refused what, from where in this namespace."""
    headers = {name: value.decode(errors="replace") for name, value in record.headers}
    where = (record.topic, record.partition, record.offset, "(dead letter)")
    failures = [
        Failure(*where, name, "header missing") for name in DLQ_HEADERS if name not in headers
    ]
    source = headers.get("dlq.topic", "")
    if source and not source.startswith(namespaces):
        failures.append(Failure(*where, "dlq.topic", f"{source!r} is outside the namespace"))
    return failures
