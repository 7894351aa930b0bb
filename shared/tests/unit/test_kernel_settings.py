"""Which database a service uses: one answer for the service, its command line and make run."""

from __future__ import annotations

from typing import ClassVar

import pytest
from shared_kernel.settings import ServiceSettings

pytestmark = pytest.mark.unit


class BillingSettings(ServiceSettings):
    service: ClassVar[str] = "billing"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "BILLING_DATABASE_URL", "OTHER_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_without_settings_a_service_uses_its_own_database_on_the_local_server() -> None:
    assert BillingSettings().database_url == "postgresql://postgres@127.0.0.1:55432/billing"


def test_database_url_names_the_server_and_the_service_its_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:s%40cret@db.internal:6543/postgres")
    assert BillingSettings().database_url == "postgresql://app:s%40cret@db.internal:6543/billing"


def test_the_service_database_url_wins_over_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@db.internal:5432/postgres")
    monkeypatch.setenv("BILLING_DATABASE_URL", "postgresql://billing@elsewhere:5432/books")
    monkeypatch.setenv("OTHER_DATABASE_URL", "postgresql://other@nowhere:5432/other")
    assert BillingSettings().database_url == "postgresql://billing@elsewhere:5432/books"


def test_a_url_passed_in_code_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_DATABASE_URL", "postgresql://billing@elsewhere:5432/books")
    given = "postgresql://postgres@127.0.0.1:5432/test_billing_1"
    assert BillingSettings(database_url=given).database_url == given
