"""The heat map over 10,000 risks: right counts per cell (its speed is measured by
``make bench``, not here).

The rows are written straight into the live read-model generation (the projection's own
path is covered by the flow tests); the expected counts are computed here independently."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from risk.domain.scoring import ScoringMatrix
from risk.projections.register_view import risks
from shared_kernel.readmodel import READ_MODEL_SCHEMA

from .risk_api import Headers

pytestmark = pytest.mark.integration

RISKS = 10_000


async def test_heat_map_over_ten_thousand_risks(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    service = risk_client.risk  # type: ignore[attr-defined]
    read_model = service.runtime.read_models["register_view_v1"]
    generation = await read_model.ensure_live()
    rng = random.Random(7)
    matrix = ScoringMatrix()
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for n in range(RISKS):
        li, im = rng.randint(1, 5), rng.randint(1, 5)
        rli, rim = max(1, li - rng.randint(0, 3)), max(1, im - rng.randint(0, 1))
        rated, after = matrix.rate(li, im), matrix.rate(rli, rim)
        rows.append(
            {
                "risk_id": f"scale-{n:05d}",
                "title": f"Risk {n}",
                "description": "",
                "category": rng.choice(["credit", "market", "it"]),
                "owner": f"user:{n % 40}",
                "status": "closed" if n % 10 == 0 else "open",
                "likelihood": li,
                "impact": im,
                "inherent_score": rated.score,
                "inherent_level": rated.level.value,
                "residual_likelihood": rli,
                "residual_impact": rim,
                "residual_score": after.score,
                "residual_level": after.level.value,
                "last_reviewed_on": date(2026, 1, 1),
                "review_due": date(2026, 6, 1),
                "identified_at": now,
                "identified_by": "user:seed",
                "version": 1,
                "position": n + 1,
                "updated_at": now,
            }
        )
    async with service.runtime.engine.begin() as conn:
        live = await conn.execution_options(
            schema_translate_map={READ_MODEL_SCHEMA: read_model.schema(generation)}
        )
        await live.execute(risks.insert(), rows)
    open_rows = [r for r in rows if r["status"] == "open"]
    inherent = Counter((r["likelihood"], r["impact"]) for r in open_rows)
    residual = Counter((r["residual_likelihood"], r["residual_impact"]) for r in open_rows)
    it = Counter((r["likelihood"], r["impact"]) for r in open_rows if r["category"] == "it")
    auditor = as_role("auditor")

    response = await risk_client.get("/v1/reports/heat-map", headers=auditor)
    filtered = await risk_client.get(
        "/v1/reports/heat-map", headers=auditor, params={"category": "it"}
    )

    heat = response.json()
    assert heat["total"] == len(open_rows) == 9_000
    for li in range(1, 6):
        for im in range(1, 6):
            assert heat["inherent"][li - 1][im - 1] == inherent[(li, im)]
            assert heat["residual"][li - 1][im - 1] == residual[(li, im)]
            assert filtered.json()["inherent"][li - 1][im - 1] == it[(li, im)]
