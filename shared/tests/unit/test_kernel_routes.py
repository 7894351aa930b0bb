"""``include_routes``: a router's routes in the app's own table behave and document exactly as
``include_router`` would have them (OpenAPI, the app's dependencies, 405 on a wrong method),
and the services' apps use it. Called in-process over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header
from fastapi.routing import APIRoute
from pydantic import BaseModel
from shared_kernel.routes import include_routes
from shared_kernel.web import create_service_app

pytestmark = pytest.mark.unit


@asynccontextmanager
async def _no_runtime(_: FastAPI) -> AsyncIterator[None]:
    yield


class Thing(BaseModel):
    name: str


async def _tenant(x_tenant: Annotated[str, Header()]) -> str:
    return x_tenant


def _routers() -> tuple[APIRouter, APIRouter]:
    things = APIRouter(prefix="/v1/things", tags=["things"], dependencies=[Depends(_tenant)])

    @things.get("/{thing_id}", response_model=Thing, responses={404: {"description": "none"}})
    async def read_thing(thing_id: str) -> Any:
        """One thing."""
        return {"name": thing_id}

    @things.post("", status_code=201, response_model=Thing)
    async def make_thing(body: Thing) -> Any:
        return body

    other = APIRouter(tags=["other"])

    @other.get("/v1/other", include_in_schema=False)
    async def hidden() -> dict[str, str]:
        return {"ok": "yes"}

    return things, other


def _app(flat: bool) -> FastAPI:
    app = create_service_app("Routed", _no_runtime)
    routers = _routers()
    if flat:
        include_routes(app, *routers)
    else:
        for router in routers:
            app.include_router(router)
    return app


def test_the_openapi_document_is_the_one_include_router_gives() -> None:
    assert _app(flat=True).openapi() == _app(flat=False).openapi()


def test_the_routes_sit_in_the_apps_own_table_in_order() -> None:
    paths = [r.path for r in _app(flat=True).routes if isinstance(r, APIRoute)]
    assert paths[-3:] == ["/v1/things/{thing_id}", "/v1/things", "/v1/other"]


@pytest.mark.parametrize("flat", [True, False])
async def test_they_answer_alike(flat: bool) -> None:
    transport = httpx.ASGITransport(app=_app(flat))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        tenant = {"X-Tenant": "a"}
        assert (await http.get("/v1/things/t1", headers=tenant)).json() == {"name": "t1"}
        made = await http.post("/v1/things", json={"name": "n"}, headers=tenant)
        assert made.status_code == 201
        # The router's own dependency still applies, and so does the app's (control characters).
        assert (await http.get("/v1/things/t1")).status_code == 422
        refused = await http.get("/v1/things/t%00x", headers=tenant)
        assert refused.status_code == 422
        assert "control character" in refused.text
        assert (await http.delete("/v1/things/t1", headers=tenant)).status_code == 405
        assert (await http.get("/v1/nothing")).status_code == 404


def test_anything_but_api_routes_is_refused_at_start_up() -> None:
    outer, inner = APIRouter(), APIRouter()

    @inner.get("/v1/x")
    async def x() -> None:
        return None

    outer.include_router(inner)
    with pytest.raises(TypeError, match="API routes only"):
        include_routes(create_service_app("Routed", _no_runtime), outer)
