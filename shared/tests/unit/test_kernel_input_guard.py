"""Every service app refuses control characters (NUL above all, which PostgreSQL refuses in
text) in path and query parameters and in JSON strings, with a 422 naming the field; free text
keeps its tabs and line breaks. Called in-process over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from shared_kernel.web import create_service_app

pytestmark = pytest.mark.unit


@asynccontextmanager
async def _no_runtime(_: FastAPI) -> AsyncIterator[None]:
    yield


def _app() -> FastAPI:
    app = create_service_app("Guarded", _no_runtime)

    @app.get("/v1/things/{thing_id}")
    async def read(thing_id: str, owner: str | None = None) -> dict[str, Any]:
        return {"thing_id": thing_id, "owner": owner}

    @app.post("/v1/things")
    async def write(body: dict[str, Any]) -> dict[str, Any]:
        return body

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://guarded") as client:
        yield client


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/things/1?owner=%00", "query.owner"),
        ("/v1/things/1?owner=a%1Bb", "query.owner"),
        ("/v1/things/1?own%00er=x", "query.own\\u0000er"),
        ("/v1/things/a%00b", "path.thing_id"),
    ],
    ids=["NUL in query", "escape in query", "NUL in a query name", "NUL in path"],
)
async def test_a_control_character_in_a_parameter_is_a_422_naming_it(
    client: httpx.AsyncClient, url: str, field: str
) -> None:
    response = await client.get(url)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["field"]) == ("InvalidRequest", field)
    assert "control characters" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"text": "a\\u0000b"}', "text"),
        ('{"lines": [{"ok": "x"}, {"text": "\\b"}]}', "lines.1.text"),
        ('{"metadata": {"k\\u0000": "v"}}', "metadata.k\\u0000"),
        ('{"text": "\\ud800"}', "text"),
    ],
    ids=["NUL", "backspace deep down", "NUL in a key", "lone surrogate"],
)
async def test_a_control_character_in_a_json_string_is_a_422_naming_it(
    client: httpx.AsyncClient, body: str, field: str
) -> None:
    response = await client.post(
        "/v1/things", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_free_text_keeps_tabs_and_line_breaks_and_escaped_quotes(
    client: httpx.AsyncClient,
) -> None:
    body = {"text": 'line 1\r\nline 2\tend \\ "quoted" \u00e9'}

    written = await client.post("/v1/things", json=body)
    read = await client.get("/v1/things/x-1", params={"owner": "tina o'neil"})

    assert (written.status_code, written.json()) == (200, body)
    assert read.json() == {"thing_id": "x-1", "owner": "tina o'neil"}


async def test_malformed_or_deeply_nested_json_is_a_4xx_not_a_crash(
    client: httpx.AsyncClient,
) -> None:
    headers = {"content-type": "application/json"}
    malformed = await client.post("/v1/things", content='{"text": "\\u0000', headers=headers)
    deep = await client.post("/v1/things", content="[" * 100_000 + "]" * 100_000, headers=headers)
    nested = '{"a": ' * 500 + '"\\u0000"' + "}" * 500

    assert malformed.status_code == 422
    assert 400 <= deep.status_code < 500
    assert (await client.post("/v1/things", content=nested, headers=headers)).status_code == 422
