"""The data contracts, for the teams that read the topics: ``/schemas`` (the index),
``/schemas/{service}/{file}`` (one event type and version's JSON Schema, the CloudEvent's
``dataschema``), ``/asyncapi.json`` (every topic, AsyncAPI 3.0) and ``/asyncapi`` (the same,
as a page served entirely by the gateway: no CDN, no script).

Public, as ``/openapi.json`` is: they describe the shape of the events, never an event.
Read-only documents, so no office's rules apply and they leave no audit record (see
``api.audit.UNAUDITED``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.api.asyncapi_page import asyncapi_page
from gateway.api.deps import GatewayDep

router = APIRouter(include_in_schema=False)
SCHEMA_MEDIA_TYPE = "application/schema+json"


@router.get("/schemas")
async def schema_index(gateway: GatewayDep) -> dict[str, Any]:
    entries = gateway.contracts.index()
    return {
        "items": [
            {"service": e.service, "type": e.type, "version": e.version, "url": e.url}
            for e in entries
        ],
        "asyncapi": f"{gateway.contracts.base_url}/asyncapi.json",
    }


@router.get("/schemas/{service}/{file_name}")
async def schema(service: str, file_name: str, gateway: GatewayDep) -> JSONResponse:
    return JSONResponse(gateway.contracts.schema(service, file_name), media_type=SCHEMA_MEDIA_TYPE)


@router.get("/asyncapi.json")
async def asyncapi_json(gateway: GatewayDep) -> JSONResponse:
    return JSONResponse(gateway.contracts.asyncapi())


@router.get("/asyncapi")
async def asyncapi_html(gateway: GatewayDep) -> HTMLResponse:
    return HTMLResponse(asyncapi_page(gateway.contracts.asyncapi(), gateway.contracts.schemas))
