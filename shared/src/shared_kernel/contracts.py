"""Data contracts: a JSON Schema (2020-12) for every event type and version the back office
publishes, generated from the event dataclasses, never written by hand.

Each producer commits its schemas, one file per versioned type, pretty-printed with sorted keys:
``services/<service>/contracts/<type>.json`` (``ledger.JournalEntryPosted.v1.json``); the
kernel's own events (the dead-letter notices every service publishes) under
``shared/contracts/``. The schema describes the CloudEvent's ``data`` as the kernel writes it
(``EventCodec.encode``: pydantic's JSON mode), so it is pydantic's *serialization* schema:
tuples are arrays, dates RFC 3339 strings. A field with a default is not required: events
stored before it was added lack it. Extra fields are allowed, so adding one stays compatible.

The gateway serves the committed files (``/schemas``) and every CloudEvent's ``dataschema``
points there. A committed file of an older version stays when the class moves to ``.vN+1``
(its events still sit on the topic, and an upcaster reads them). ``check`` is the gate of
``make test`` (see ``contract_compatibility``)::

    python -m shared_kernel.contracts write     # (re)write the committed files
    python -m shared_kernel.contracts check     # exit 1 naming what is stale or breaking
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import re
import sys
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from shared_kernel.contract_compatibility import breaking_changes
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import DEFAULT_SCHEMA_BASE_URL, schema_url, versioned_type

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# The checkout this kernel is part of (shared/src/shared_kernel/contracts.py).
REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
Schema = dict[str, Any]


@dataclass(frozen=True)
class Producer:
    """Who publishes events, and which on which topic.

    ``owner`` is the prefix of its event types (and the schema URL's segment); ``directory``
    where its contracts are committed (from the repository root); ``topics`` maps the suffix
    of each topic it writes (``events`` for ``<owner>.events``) to the ``module:attribute`` of
    the tuple of event classes on it, named rather than imported so that the kernel depends
    on no service. ``reads`` are the topics (``<service>.<suffix>``) a service consumes;
    ``service`` False for the kernel, which has no topics of its own."""

    owner: str
    directory: str
    topics: Mapping[str, str]
    reads: tuple[str, ...] = ()
    service: bool = True

    def events(self) -> dict[str, tuple[type[DomainEvent], ...]]:
        """The event classes on each of its topics (imports the producer's module)."""
        return {suffix: _import(ref) for suffix, ref in self.topics.items()}


# One entry per producer. ``reads``: the topics of its projections and inboxes (bootstrap.py).
PRODUCERS: tuple[Producer, ...] = (
    Producer(
        "backoffice",
        "shared/contracts",
        {"dead-letter-notices": "shared_kernel.dead_letter_notices:NOTICE_EVENTS"},
        service=False,
    ),
    Producer(
        "ledger",
        "services/ledger/contracts",
        {"events": "ledger.domain:ALL_EVENTS"},
        reads=("ledger.events", "risk.events"),
    ),
    Producer(
        "tickets",
        "services/tickets/contracts",
        {"events": "tickets.domain:ALL_EVENTS"},
        reads=(
            "tickets.events",
            "risk.events",
            "ledger.dead-letter-notices",
            "tickets.dead-letter-notices",
            "risk.dead-letter-notices",
            "gateway.dead-letter-notices",
        ),
    ),
    Producer(
        "risk",
        "services/risk/contracts",
        {"events": "risk.domain:ALL_EVENTS"},
        reads=("risk.events", "ledger.events", "tickets.events"),
    ),
    Producer(
        "gateway",
        "services/gateway/contracts",
        {
            "events": "gateway.domain.events:EVENTS",
            "audit": "gateway.domain.access_decisions:AUDIT_EVENTS",
        },
        reads=("ledger.events", "tickets.events", "risk.events", "gateway.events", "gateway.audit"),
    ),
)


def _import(ref: str) -> tuple[type[DomainEvent], ...]:
    module, attribute = ref.split(":")
    classes: tuple[type[DomainEvent], ...] = getattr(importlib.import_module(module), attribute)
    return classes


def event_classes(producer: Producer) -> list[type[DomainEvent]]:
    """Every event class a producer publishes, on whichever topic, in declaration order."""
    return [cls for classes in producer.events().values() for cls in classes]


# ---------------------------------------------------------------------------------------------
# Generation


def event_schema(cls: type[DomainEvent], base_url: str = DEFAULT_SCHEMA_BASE_URL) -> Schema:
    """The JSON Schema (2020-12) of an event class's ``data`` as the kernel writes it.

    ``title`` is the versioned type, ``$id`` the URL its CloudEvents name as ``dataschema``,
    ``description`` the class docstring; a field's description is the docstring's clauses
    that name it (````field````), on nested dataclasses too."""
    schema: Schema = TypeAdapter(cls).json_schema(mode="serialization")
    type_ = versioned_type(cls.event_type, cls.version)
    _describe_fields(schema, cls)
    for nested in _nested_dataclasses(cls):
        definition = schema.get("$defs", {}).get(nested.__name__)
        if definition is not None and definition.get("title") == nested.__name__:
            _describe_fields(definition, nested)
    document: Schema = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_url(type_, base_url),
        **schema,
        "title": type_,
    }
    return document


def _describe_fields(schema: Schema, cls: type) -> None:
    """Docstring as the description; properties without pydantic's made-up titles, described
    by what the class's docstring says of them, else its module's (say, of ``by`` and ``at``
    on every event of a module)."""
    doc = _docstring(cls)
    if doc:
        schema["description"] = doc
    else:
        schema.pop("description", None)
    module_doc = inspect.getdoc(sys.modules.get(cls.__module__)) or ""
    for name, prop in schema.get("properties", {}).items():
        prop.pop("title", None)
        said = _clauses_naming(doc, name) or _clauses_naming(module_doc, name)
        if said:
            prop["description"] = said


def _docstring(cls: type) -> str:
    """The class's own docstring; '' for none (a dataclass makes one up from its signature)."""
    doc = cls.__dict__.get("__doc__") or ""
    if not doc or doc.startswith(f"{cls.__name__}("):
        return ""
    return inspect.cleandoc(doc)


_CLAUSE_END = re.compile(r"(?<=[.;])\s+")


def _clauses_naming(doc: str, name: str) -> str:
    """The sentences and ``;`` clauses of ``doc`` that name ``name`` in double backticks."""
    text = " ".join(doc.split())
    mark = f"``{name}``"
    return " ".join(c.strip().rstrip(";") for c in _CLAUSE_END.split(text) if mark in c)


def _nested_dataclasses(cls: type) -> Iterator[type]:
    """The dataclasses a dataclass's fields contain, at any depth (each once)."""
    seen: set[type] = set()
    pending = [cls]
    while pending:
        hints = typing.get_type_hints(pending.pop())
        for hint in hints.values():
            for found in _dataclasses_in(hint):
                if found not in seen:
                    seen.add(found)
                    pending.append(found)
                    yield found


def _dataclasses_in(hint: Any) -> Iterator[type]:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        yield hint
    for argument in typing.get_args(hint):  # tuple[X, ...], X | None, Mapping[str, X]
        yield from _dataclasses_in(argument)


def render(schema: Schema) -> str:
    """A schema as committed: two-space indents, sorted keys, UTF-8, a trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def file_name(type_: str) -> str:
    """``ledger.JournalEntryPosted.v1`` -> ``ledger.JournalEntryPosted.v1.json``."""
    return f"{type_}.json"


def generated(producers: Sequence[Producer] = PRODUCERS) -> dict[str, tuple[Producer, Schema]]:
    """What the code describes now: versioned type -> (producer, schema)."""
    found: dict[str, tuple[Producer, Schema]] = {}
    for producer in producers:
        for cls in event_classes(producer):
            found[versioned_type(cls.event_type, cls.version)] = (producer, event_schema(cls))
    return found


# ---------------------------------------------------------------------------------------------
# The committed files


def contract_directories(
    root: Path = REPOSITORY_ROOT, producers: Sequence[Producer] = PRODUCERS
) -> dict[str, Path]:
    """owner -> the directory of its committed schemas."""
    return {p.owner: root / p.directory for p in producers}


def committed_files(
    root: Path = REPOSITORY_ROOT, producers: Sequence[Producer] = PRODUCERS
) -> dict[str, Path]:
    """versioned type -> its committed file, every version ever committed."""
    return {
        path.name.removesuffix(".json"): path
        for directory in contract_directories(root, producers).values()
        if directory.is_dir()
        for path in sorted(directory.glob("*.json"))
    }


def load_all(
    root: Path = REPOSITORY_ROOT, producers: Sequence[Producer] = PRODUCERS
) -> dict[str, Schema]:
    """versioned type (``ledger.JournalEntryPosted.v1``) -> its committed JSON Schema: what a
    reader validates a CloudEvent's ``data`` against (pick by the CloudEvent's ``type``)."""
    return {t: json.loads(p.read_text()) for t, p in committed_files(root, producers).items()}


def write(root: Path = REPOSITORY_ROOT, producers: Sequence[Producer] = PRODUCERS) -> list[Path]:
    """Write the schema of every current event class; returns the files that changed. Files
    of older versions are left as they are."""
    changed = []
    for type_, (producer, schema) in generated(producers).items():
        path = root / producer.directory / file_name(type_)
        text = render(schema)
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(path)
    return changed


def check(root: Path = REPOSITORY_ROOT, producers: Sequence[Producer] = PRODUCERS) -> list[str]:
    """Everything wrong between the committed schemas and the code, one sentence each:
    breaking changes of a committed version (naming the type and the field), and files that
    are missing or out of date (``make contracts`` rewrites those). Empty when all is well."""
    problems: list[str] = []
    files = committed_files(root, producers)
    now = generated(producers)
    for type_, (_, schema) in now.items():
        path = files.get(type_)
        if path is None:
            problems.append(f"{type_}: no committed schema; run `make contracts`")
            continue
        committed = json.loads(path.read_text())
        breaches = breaking_changes(committed, schema)
        problems += [
            f"{type_}: breaking change of a published version: {b}. Keep this version's "
            f"schema: publish the change as {_next(type_)} with an upcaster instead"
            for b in breaches
        ]
        if not breaches and path.read_text() != render(schema):
            stale = path.relative_to(root)
            problems.append(f"{type_}: {stale} is out of date; run `make contracts`")
    current = {type_.rsplit(".v", 1)[0]: int(type_.rsplit(".v", 1)[1]) for type_ in now}
    for type_ in files.keys() - now.keys():
        event_type, version = type_.rsplit(".v", 1)
        if event_type not in current:
            problems.append(f"{type_}: committed, but no event class produces {event_type} now")
        elif int(version) > current[event_type]:
            problems.append(f"{type_}: committed, but the code is at v{current[event_type]}")
    return problems


def _next(type_: str) -> str:
    event_type, version = type_.rsplit(".v", 1)
    return f"{event_type}.v{int(version) + 1}"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["write"]:
        changed = write()
        for path in changed:
            print(f"wrote {path.relative_to(REPOSITORY_ROOT)}")
        print(f"{len(generated())} event schemas, {len(changed)} rewritten")
        return 0
    if args == ["check"]:
        problems = check()
        print("\n".join(problems) or f"{len(generated())} event schemas match the code")
        return 1 if problems else 0
    print("usage: python -m shared_kernel.contracts write | check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
