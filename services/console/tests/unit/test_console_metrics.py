"""The console's ``/metrics``: open without a session (Prometheus has none), its pages counted
by route template, never by the raw path."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_kernel.testing import metric_value, scrape_metrics

from .fake_gateway import FakeGateway, browser

pytestmark = pytest.mark.unit


async def test_metrics_need_no_session_and_count_pages_by_template(tmp_path: Path) -> None:
    async with browser(FakeGateway().app(tmp_path)) as client:
        before = await scrape_metrics(client)
        login = await client.get("/login")
        after = await scrape_metrics(client)

    page = {"service": "console", "route": "/login", "method": "GET", "status": "200"}
    assert login.status_code == 200
    requests = "backoffice_http_requests_total"
    assert (
        metric_value(after, requests, office="none", **page)
        - metric_value(before, requests, office="none", **page)
        == 1
    )
