"""The kernel's contract on the in-memory backend (``shared_kernel.memory``)."""

from __future__ import annotations

import pytest
from kernel_contract import CODEC, KernelContract
from shared_kernel.commands import MakeUnitOfWork
from shared_kernel.memory import InMemoryBackend

pytestmark = pytest.mark.unit


class TestInMemoryBackend(KernelContract):
    @pytest.fixture
    def make_uow(self) -> MakeUnitOfWork:
        return InMemoryBackend(CODEC, source="/contract").make_uow
