"""The data contracts at the gateway, over HTTP in-process: the schema index, each committed
schema at the URL CloudEvents name as ``dataschema``, the AsyncAPI document and its page. All
public (no credentials), read-only and unaudited, like ``/openapi.json``."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from gateway.bootstrap import Gateway
from gateway.main import create_app
from gateway.settings import GatewaySettings
from jsonschema import Draft7Validator
from shared_kernel.contracts import REPOSITORY_ROOT, load_all
from shared_kernel.identity import ensure_keypair

pytestmark = pytest.mark.unit

BASE = "https://office.example:8443"
POSTED = "/schemas/ledger/ledger.JournalEntryPosted.v1.json"
ASYNCAPI_SCHEMA = REPOSITORY_ROOT / "shared/tests/contract_data/asyncapi-3.0.0-without-id.json"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Gateway]]:
    private, public = ensure_keypair(tmp_path / "keys")
    settings = GatewaySettings(
        environment="test",
        identity_private_key_file=private,
        identity_public_key_file=public,
        schema_base_url=BASE,
        topic_namespace="ns.",
    )
    app = create_app(settings)
    gateway: Gateway = app.state.gateway
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
        yield http, gateway
    await gateway.runtime.engine.dispose()


async def test_the_index_lists_every_schema_with_its_url(
    client: tuple[httpx.AsyncClient, Gateway],
) -> None:
    http, _ = client
    answer = await http.get("/schemas")

    assert answer.status_code == 200
    items = answer.json()["items"]
    assert len(items) == len(load_all())
    assert {
        "service": "ledger",
        "type": "ledger.JournalEntryPosted",
        "version": 1,
        "url": f"{BASE}{POSTED}",
    } in items
    assert {i["service"] for i in items} == {"backoffice", "ledger", "tickets", "risk", "gateway"}
    assert answer.json()["asyncapi"] == f"{BASE}/asyncapi.json"


async def test_a_schema_is_served_as_committed_with_this_deployments_id(
    client: tuple[httpx.AsyncClient, Gateway],
) -> None:
    http, _ = client
    answer = await http.get(POSTED)

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/schema+json"
    served = answer.json()
    committed = json.loads(
        (
            REPOSITORY_ROOT / "services/ledger/contracts/ledger.JournalEntryPosted.v1.json"
        ).read_text()
    )
    assert served["$id"] == f"{BASE}{POSTED}"
    assert {**served, "$id": committed["$id"]} == committed


@pytest.mark.parametrize(
    "path",
    [
        "/schemas/ledger/ledger.NoSuchEvent.v1.json",
        "/schemas/ledger/ledger.JournalEntryPosted.v9.json",
        "/schemas/risk/ledger.JournalEntryPosted.v1.json",  # another service's event
        "/schemas/ledger/ledger.JournalEntryPosted.v1",
        "/schemas/Ledger/ledger.JournalEntryPosted.v1.json",
    ],
)
async def test_an_unknown_schema_is_a_404_problem(
    client: tuple[httpx.AsyncClient, Gateway], path: str
) -> None:
    http, _ = client
    answer = await http.get(path)

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "UnknownSchema"
    assert "GET /schemas" in answer.json()["detail"]


async def test_a_path_out_of_the_schemas_is_not_found(
    client: tuple[httpx.AsyncClient, Gateway],
) -> None:
    http, _ = client
    for path in ("/schemas/ledger/..%2F..%2Fpyproject.toml", "/schemas/../pyproject.toml"):
        answer = await http.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert "[project]" not in answer.text


async def test_the_asyncapi_document_is_served_and_valid(
    client: tuple[httpx.AsyncClient, Gateway],
) -> None:
    http, _ = client
    answer = await http.get("/asyncapi.json")

    assert answer.status_code == 200
    document = answer.json()
    validator = Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(document)] == []
    assert document["channels"]["ledger.events"]["address"] == "ns.ledger.events"
    message = document["components"]["messages"]["ledger.JournalEntryPosted.v1"]
    assert message["payload"]["allOf"][1]["properties"]["data"] == {"$ref": f"{BASE}{POSTED}"}


async def test_the_asyncapi_page_reads_without_anything_from_elsewhere(
    client: tuple[httpx.AsyncClient, Gateway],
) -> None:
    http, _ = client
    answer = await http.get("/asyncapi")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert "<script" not in page
    assert "Topic <code>ns.ledger.events</code>" in page
    assert '<h3 id="ledger.JournalEntryPosted.v1">' in page
    assert "<code>voucher_number</code>" in page and "array of PostedLine" in page
    assert "Read by</dt><dd>gateway, ledger, risk</dd>" in page  # who reads ledger.events
    # Names the docstrings quote read as code, not as backticks.
    assert "``" not in page and "<code>reason</code> says why" in page
    # Nothing loaded from another server: no src= at all, links only to the schemas.
    assert not re.search(r"\ssrc=", page)
    outside = [u for u in re.findall(r'href="(https?://[^"]+)"', page) if not u.startswith(BASE)]
    assert outside == []


async def test_the_contracts_need_no_credentials_and_leave_no_audit_record(
    client: tuple[httpx.AsyncClient, Gateway],
) -> None:
    http, gateway = client
    for path in ("/schemas", POSTED, "/asyncapi.json", "/asyncapi", "/schemas/x/y.json"):
        answer = await http.get(path)
        assert answer.status_code in (200, 404), path
    assert gateway.audit.queue.qsize() == 0
    # An ordinary route of the gateway is still audited (and refused without credentials).
    assert (await http.get("/auth/me")).status_code == 401
    assert gateway.audit.queue.qsize() == 1


def test_a_service_cannot_be_named_like_the_schemas_route(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reserved"):
        GatewaySettings(services={"schemas": "http://schemas.test"})
    assert isinstance(GatewaySettings().contracts_root, Path)
