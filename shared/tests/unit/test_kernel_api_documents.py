"""Every service's OpenAPI documents its errors as the problems the handlers send, and its
integer fields accept exactly what JSON Schema's ``integer`` does."""

from __future__ import annotations

import re
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field, StrictInt
from shared_kernel.api_types import JSON_INTEGER
from shared_kernel.web import REFUSED_CHARACTER, install_problem_handlers

pytestmark = pytest.mark.unit


class Deal(BaseModel):
    amount: Annotated[StrictInt, Field(gt=0), JSON_INTEGER]
    counterparty: str = ""
    tags: list[str] = []
    day: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] = "2026-01-01"


def app() -> FastAPI:
    service = FastAPI()
    install_problem_handlers(service)

    @service.post("/v1/deals", status_code=201)
    async def book(deal: Deal) -> dict[str, Any]:
        return {"amount": deal.amount}

    @service.get("/v1/deals/{deal_id}")
    async def read(deal_id: str) -> dict[str, Any]:
        return {"id": deal_id}

    return service


def test_validation_errors_are_documented_as_problems_not_fastapis_schema() -> None:
    document = app().openapi()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    post = document["paths"]["/v1/deals"]["post"]["responses"]
    assert sorted(post) == ["201", "400", "401", "403", "404", "409", "422", "500"]
    assert post["422"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert "Location" in post["201"]["headers"]
    get = document["paths"]["/v1/deals/{deal_id}"]["get"]["responses"]
    assert sorted(get) == ["200", "400", "401", "403", "404", "422", "500"]
    problem = document["components"]["schemas"]["Problem"]["properties"]
    assert {"status", "title", "detail", "type", "code", "field", "errors"} <= set(problem)
    schema = document["components"]["schemas"]["Deal"]["properties"]["amount"]
    assert (schema["type"], schema["exclusiveMinimum"]) == ("integer", 0)


@pytest.mark.parametrize(
    ("amount", "status"),
    [(5, 201), (5.0, 201), (5.5, 422), ("5", 422), (True, 422), (0, 422)],
)
async def test_an_integer_field_accepts_what_json_schema_calls_an_integer(
    amount: object, status: int
) -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        answer = await client.post("/v1/deals", json={"amount": amount})
    assert answer.status_code == status, answer.text
    if status == 201:
        assert answer.json() == {"amount": 5}
    else:
        assert answer.headers["content-type"] == "application/problem+json"


def test_free_text_documents_the_characters_every_service_refuses() -> None:
    document = app().openapi()
    deal = document["components"]["schemas"]["Deal"]["properties"]
    parameter = document["paths"]["/v1/deals/{deal_id}"]["get"]["parameters"][0]["schema"]
    pattern = deal["counterparty"]["pattern"]
    assert parameter["pattern"] == deal["tags"]["items"]["pattern"] == pattern
    assert deal["day"]["pattern"] == r"^\d{4}-\d{2}-\d{2}$"  # a narrower rule stays
    assert re.fullmatch(pattern, "ACME GmbH\tHamburg\nline two")
    for refused in ("\x00", "a\x1cb", "\x08"):
        assert not re.fullmatch(pattern, refused)
        assert REFUSED_CHARACTER.search(refused)
