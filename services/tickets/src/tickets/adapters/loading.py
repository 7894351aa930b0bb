"""Loading helpers beyond the kernel's ``UnitOfWork.find``.

- ``lock_queue`` / ``lock_alert_source``: transaction-scoped advisory locks, taken before the
  round-robin turn (or an alert source's incident) is read. Concurrent creations then queue
  up instead of colliding and retrying; correctness never depends on them (stream versions
  do).
- ``find_latest``: an aggregate whose state is its last event (the round-robin turns), loaded
  from that one event at the stream's current version.
"""

from __future__ import annotations

from typing import TypeVar

import sqlalchemy as sa
from shared_kernel.domain import Aggregate
from shared_kernel.schema import events
from shared_kernel.unit_of_work import UnitOfWork

A = TypeVar("A", bound=Aggregate)

# The two-key advisory lock space: these class ids name the tickets service's queues and
# alert sources. Lock order, always: alert source before queue (no deadlock).
QUEUE_LOCK_CLASS = 0x71C4E7
ALERT_SOURCE_LOCK_CLASS = 0x71C4E8


async def _lock(uow: UnitOfWork, lock_class: int, key: str) -> None:
    await uow.connection.execute(
        sa.select(sa.func.pg_advisory_xact_lock(lock_class, sa.func.hashtext(key)))
    )


async def lock_queue(uow: UnitOfWork, queue_id: str) -> None:
    await _lock(uow, QUEUE_LOCK_CLASS, queue_id)


async def lock_alert_source(uow: UnitOfWork, source_id: str) -> None:
    """Alerts of one host and check queue up instead of colliding on its incident."""
    await _lock(uow, ALERT_SOURCE_LOCK_CLASS, source_id)


async def find_latest(uow: UnitOfWork, cls: type[A], stream_id: str) -> A:
    """The aggregate folded from its stream's last event, at the stream's version (a new
    aggregate when the stream is empty); tracked by the unit of work."""
    row = (
        await uow.connection.execute(
            sa.select(
                events.c.event_type,
                events.c.event_version,
                events.c.data,
                events.c.stream_version,
            )
            .where(events.c.stream_id == stream_id)
            .order_by(events.c.stream_version.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        aggregate = cls(stream_id)
    else:
        event = uow.codec.decode(row.event_type, row.event_version, row.data)
        aggregate = cls.load(stream_id, [event])
        aggregate.version = int(row.stream_version)
    uow.add(aggregate)
    return aggregate
