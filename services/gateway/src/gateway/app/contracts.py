"""The data contracts the gateway serves: the committed JSON Schema of every event type and
version (``shared_kernel.contracts``) and the AsyncAPI document of every topic
(``shared_kernel.asyncapi``).

Each schema is served as committed, except its ``$id``, which names this deployment's schema
server (``SCHEMA_BASE_URL``, where every CloudEvent's ``dataschema`` points). The files are
read once, on first use, and kept: they change only with a new release.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared_kernel import asyncapi, contracts
from shared_kernel.envelope import schema_url
from shared_kernel.errors import NotFound

# A schema's owner and file name as they appear in its URL: nothing that could leave the
# directory of committed files.
_OWNER = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_FILE = re.compile(r"^[a-z][a-z0-9-]*\.[A-Za-z][A-Za-z0-9]*\.v[0-9]{1,6}\.json$")


class UnknownSchema(NotFound):
    """No committed schema has this URL."""

    title = "Unknown schema"


@dataclass(frozen=True)
class SchemaEntry:
    """One line of the index: ``ledger``, ``ledger.JournalEntryPosted``, 1, its URL."""

    service: str
    type: str
    version: int
    url: str


@dataclass
class DataContracts:
    """The committed schemas under ``root`` and the AsyncAPI document of the topics."""

    root: Path
    base_url: str
    partitions: int
    namespace: str = ""
    kafka_servers: str = "127.0.0.1:9092"
    _schemas: dict[str, contracts.Schema] | None = field(default=None, repr=False)
    _asyncapi: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def schemas(self) -> dict[str, contracts.Schema]:
        """versioned type -> committed schema (``$id`` as this deployment serves it)."""
        if self._schemas is None:
            loaded = contracts.load_all(self.root)
            for type_, schema in loaded.items():
                schema["$id"] = schema_url(type_, self.base_url)
            self._schemas = loaded
        return self._schemas

    def index(self) -> list[SchemaEntry]:
        entries = []
        for type_ in sorted(self.schemas):
            event_type, version = type_.rsplit(".v", 1)
            service = event_type.split(".", 1)[0]
            entries.append(
                SchemaEntry(service, event_type, int(version), schema_url(type_, self.base_url))
            )
        return entries

    def schema(self, service: str, file_name: str) -> contracts.Schema:
        """The schema at ``/schemas/<service>/<file_name>``; ``UnknownSchema`` for any other."""
        type_ = file_name.removesuffix(".json")
        if (
            not _OWNER.fullmatch(service)
            or not _FILE.fullmatch(file_name)
            or type_.split(".", 1)[0] != service
            or type_ not in self.schemas
        ):
            raise UnknownSchema(
                f"no event schema at /schemas/{service}/{file_name}; GET /schemas lists them",
                field="path",
                code="UnknownSchema",
            )
        return copy.deepcopy(self.schemas[type_])

    def asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI 3.0 document (built once)."""
        if self._asyncapi is None:
            self._asyncapi = asyncapi.asyncapi_document(
                self.schemas,
                base_url=self.base_url,
                partitions=self.partitions,
                namespace=self.namespace,
                kafka_servers=self.kafka_servers,
            )
        return self._asyncapi
