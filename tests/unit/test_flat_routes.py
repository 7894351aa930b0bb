"""Every service's app keeps its routes in one flat table (``shared_kernel.routes``): no
router branch that each request would walk twice."""

from __future__ import annotations

import importlib

import pytest

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("service", ["ledger", "risk", "tickets", "gateway"])
def test_the_services_apps_keep_no_included_routers(service: str) -> None:
    app = importlib.import_module(f"{service}.main").create_app()
    branches = [r for r in app.router.routes if type(r).__name__ == "_IncludedRouter"]
    assert branches == []
