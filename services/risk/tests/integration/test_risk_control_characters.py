"""A NUL byte (or another control character) in a filter is the client's mistake: 422 naming
the parameter, never a 500 from PostgreSQL, which refuses NUL in text."""

from __future__ import annotations

import httpx
import pytest
from shared_kernel.testing import Headers

pytestmark = pytest.mark.integration

FILTERS = [
    ("/v1/risks", "owner"),
    ("/v1/limits", "counterparty"),
    ("/v1/limits", "desk"),
    ("/v1/exposures", "counterparty"),
    ("/v1/exposures", "desk"),
    ("/v1/reports/limit-utilisation", "counterparty"),
    ("/v1/reports/limit-utilisation", "desk"),
]


@pytest.mark.parametrize("value", ["\x00", "ACME\x00GmbH", "\x1b[2J"], ids=["NUL", "inner", "ESC"])
async def test_a_control_character_in_a_filter_is_a_422_naming_it(
    risk_client: httpx.AsyncClient, as_role: Headers, value: str
) -> None:
    officer = as_role("risk-officer")
    for path, name in FILTERS:
        response = await risk_client.get(path, params={name: value}, headers=officer)

        assert response.status_code == 422, f"{path}?{name}: {response.text}"
        assert response.json()["field"] == f"query.{name}", path
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_nul_in_a_path_parameter_is_a_422_naming_it(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    response = await risk_client.get("/v1/limits/a%00b", headers=as_role("risk-officer"))

    assert response.status_code == 422, response.text
    assert response.json()["field"] == "path.limit_id"
