"""Every route of the ledger has an entry in the gateway's policy, and every ledger entry of
the policy names a route the ledger serves (the gateway refuses what is not listed)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from ledger.main import create_app

pytestmark = pytest.mark.unit

POLICY = Path(__file__).resolve().parents[4] / "services/gateway/src/gateway/policy.toml"


def shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_policy_and_the_ledger_name_the_same_routes() -> None:
    served = {
        f"{method.upper()} {shape(path)}"
        for path, operations in create_app().openapi()["paths"].items()
        if path.startswith("/v1/")
        for method in operations
    }
    assert len(served) > 20
    with POLICY.open("rb") as policy:
        listed = {shape(rule) for rule in tomllib.load(policy)["routes"]["ledger"]}

    assert served - listed == set(), "routes missing from the policy"
    assert listed - served == set(), "policy entries for routes the ledger lacks"
