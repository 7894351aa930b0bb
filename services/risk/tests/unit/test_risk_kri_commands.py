"""The KRI command handlers on the kernel's in-memory backend: a measurement moves the KRI's
status, a defined KRI cannot be defined again, a repeated Idempotency-Key records once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from risk.app.kri_commands import DefineKri, KriCommands, RecordKriMeasurement
from risk.bootstrap import risk_codec
from risk.domain.kri import Kri, KriDefinition, KriStatus, kri_stream_id
from shared_kernel.commands import CommandBus
from shared_kernel.errors import Conflict
from shared_kernel.identity import Caller
from shared_kernel.memory import InMemoryBackend
from shared_kernel.roles import Role
from shared_kernel.unit_of_work import CommandContext, Idempotency

pytestmark = pytest.mark.unit

CODEC = risk_codec()  # built once: building a codec takes a moment
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
DEFINITION = KriDefinition("Failed payments", "per hour", "count", "user:rita")


def rita(key: str | None = None) -> CommandContext:
    return CommandContext(
        Caller("user:rita", {Role.RISK_OFFICER}, "back"),
        idempotency=Idempotency(key, "r") if key else None,
    )


async def kri_service() -> tuple[KriCommands, CommandBus, InMemoryBackend]:
    backend = InMemoryBackend(CODEC, source="/risk")
    commands, bus = KriCommands(clock=lambda: NOW), CommandBus(backend.make_uow)
    define = DefineKri("failed-payments", DEFINITION, "higher_is_worse", amber=10, red=20)
    await bus.execute(rita(), commands.define_kri, define)
    return commands, bus, backend


def measurement(n: int, value: float) -> RecordKriMeasurement:
    return RecordKriMeasurement("failed-payments", f"m{n}", value, NOW, None)


async def test_measurements_move_the_status_and_a_repeated_key_records_once() -> None:
    commands, bus, backend = await kri_service()
    record = commands.record_measurement

    await bus.execute(rita("k1"), record, measurement(1, 25))
    again = await bus.execute(rita("k1"), record, measurement(1, 25))
    await bus.execute(rita(), record, measurement(2, 5))

    assert again.replayed
    async with backend.make_uow(rita()) as uow:
        kri = await uow.get(Kri, kri_stream_id("failed-payments"))
    assert kri.status is KriStatus.GREEN and kri.latest is not None and kri.latest.value == 5
    recorded = [e for e in backend.events() if e.event_type == "risk.KriMeasurementRecorded"]
    assert [e.data["value"] for e in recorded] == [25, 5]


async def test_a_kri_is_defined_once() -> None:
    commands, bus, backend = await kri_service()
    before = len(backend.events())
    define = DefineKri("failed-payments", DEFINITION, "higher_is_worse", amber=1, red=2)

    with pytest.raises(Conflict):
        await bus.execute(rita(), commands.define_kri, define)

    assert len(backend.events()) == before
