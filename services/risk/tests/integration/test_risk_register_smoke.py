"""A risk identified over HTTP can be read back at once (read your writes)."""

from __future__ import annotations

import httpx
import pytest

from .risk_api import Headers, read, risk_body, write

pytestmark = pytest.mark.integration


async def test_identified_risk_reads_back_with_its_rating(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    officer = as_role("risk-officer", subject="user:anna")

    written = await write(risk_client, officer, "/v1/risks", risk_body(), expect=201)
    risk = await read(risk_client, officer, f"/v1/risks/{written['id']}", written["position"])

    assert risk["title"] == "Settlement system outage"
    assert risk["inherent"] == {"likelihood": 3, "impact": 4, "score": 12, "level": "high"}
    assert risk["residual"] == risk["inherent"]
    assert risk["version"] == written["version"] == 1
