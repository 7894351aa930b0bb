"""``GATEWAY_SERVICES``: a service is one base URL, or the list of its replicas' base URLs."""

from __future__ import annotations

import pytest
from gateway.settings import GatewaySettings
from pydantic import ValidationError

pytestmark = pytest.mark.unit


def test_a_service_is_one_url_or_a_list_of_its_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "GATEWAY_SERVICES",
        '{"ledger": ["http://127.0.0.1:8001/", "http://127.0.0.1:8101"],'
        ' "risk": "http://127.0.0.1:8003"}',
    )
    assert GatewaySettings().services == {
        "ledger": ("http://127.0.0.1:8001", "http://127.0.0.1:8101"),
        "risk": ("http://127.0.0.1:8003",),
    }


@pytest.mark.parametrize(
    ("services", "complaint"),
    [
        ('{"ledger": ["http://a", "ftp://b"]}', "http:// or https://"),
        ('{"ledger": []}', "no base URL"),
        ('{"ledger": ["http://a/", "http://a"]}', "listed twice"),
        ('{"auth": ["http://a"]}', "malformed or reserved"),
        ('{"ledger": [8001]}', "string"),
    ],
)
def test_every_replica_url_is_checked(
    monkeypatch: pytest.MonkeyPatch, services: str, complaint: str
) -> None:
    monkeypatch.setenv("GATEWAY_SERVICES", services)
    with pytest.raises(ValidationError, match=complaint):
        GatewaySettings()
