"""Fakes for the gateway's unit tests: callers confirmed against dictionaries instead of the
database (a subclass of the real ``Callers``, so its caching and rules are the real ones)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from gateway.adapters.api_keys import ApiKeyStore, NewApiKey, StoredKey, new_api_key
from gateway.app.callers import Callers
from gateway.domain.api_keys import System
from gateway.domain.operator import Operator


@pytest.fixture(autouse=True)
def rate_limits_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """No database here: the rate limits' buckets in the process (RATE_LIMIT_STORE=memory)."""
    monkeypatch.setenv("RATE_LIMIT_STORE", "memory")


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class InMemoryCallers(Callers):
    def __init__(self, clock: Clock) -> None:
        super().__init__(self._no_database, ApiKeyStore(), clock=clock)
        self.streams: dict[str, Any] = {}
        self.keys: dict[str, StoredKey] = {}
        self.loads = 0

    @staticmethod
    def _no_database(_: Any) -> Any:
        raise AssertionError("no database in unit tests")

    async def _find(self, cls: Any, stream_id: str) -> Any:
        self.loads += 1
        await asyncio.sleep(0)
        return self.streams.get(stream_id)

    async def _stored_key(self, key_id: str) -> StoredKey | None:
        self.loads += 1
        return self.keys.get(key_id)

    def add_operator(self, username: str, *roles: str) -> Operator:
        operator = Operator.register(username, username.title(), frozenset(roles))
        operator.mark_saved()
        self.streams[operator.id] = operator
        return operator

    def add_system(self, name: str, *roles: str) -> tuple[System, NewApiKey]:
        system = System.register(name, name.title(), frozenset(roles))
        key = new_api_key()
        system.issue_key(key.key_id, datetime.now(UTC))
        system.mark_saved()
        self.streams[system.id] = system
        self.keys[key.key_id] = StoredKey(name, key.key_hash)
        return system, key


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def callers(clock: Clock) -> InMemoryCallers:
    return InMemoryCallers(clock)
