"""``GET /cases/{correlation_id}`` is one of the gateway's own routes, described in its API
and closed to anyone without credentials; no service may be named like it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from gateway.main import create_app
from gateway.settings import GatewaySettings
from pydantic import ValidationError
from shared_kernel.identity import ensure_keypair

pytestmark = pytest.mark.unit


def settings(tmp_path: Path, **services: str) -> GatewaySettings:
    private, public = ensure_keypair(tmp_path / "keys")
    return GatewaySettings(
        environment="test",
        identity_private_key_file=private,
        identity_public_key_file=public,
        services=services or {"ledger": "http://ledger.test"},
    )


def test_the_case_route_is_described_with_the_gateways_credentials(tmp_path: Path) -> None:
    document = create_app(settings(tmp_path)).openapi()

    operation = document["paths"]["/cases/{correlation_id}"]["get"]
    schemes = {name for requirement in operation["security"] for name in requirement}
    assert schemes == {"HTTPBearer", "APIKeyHeader"}
    assert {"200", "401", "404", "422"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} == {"correlation_id", "after", "limit"}


def test_the_timeline_reads_every_fronted_service_and_the_gateway(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, ledger="http://l.test", risk="http://r.test"))

    projections = app.state.gateway.runtime.projections
    [timeline] = [p for p in projections if p.name == "case_timeline_v1"]
    assert set(timeline.topics) == {"ledger.events", "risk.events", "gateway.events"}


def test_no_service_may_be_called_cases(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="reserved"):
        settings(tmp_path, cases="http://cases.test")


def test_a_case_id_the_api_admits_is_named_by_its_own_text_in_a_path(tmp_path: Path) -> None:
    """The documented pattern is the validation's: an id it admits reaches the route as sent.
    A "%" would begin an escape (a client's generator sent ``N%EF%BF%BD``, valid printable
    ASCII, which arrived as ``N`` and a replacement character and was refused as malformed)."""
    document = create_app(settings(tmp_path)).openapi()
    [parameter] = [
        p
        for p in document["paths"]["/cases/{correlation_id}"]["get"]["parameters"]
        if p["name"] == "correlation_id"
    ]
    pattern = re.compile(parameter["schema"]["pattern"])

    assert pattern.fullmatch(str(uuid.uuid4()))  # the ids the gateway makes
    for unnamable in ("N%EF%BF%BD", "50%", "a b", "a\x00b", "ä"):
        assert not pattern.fullmatch(unnamable), unnamable
    assert all(pattern.fullmatch(chr(c)) for c in range(0x21, 0x7F) if chr(c) != "%")
