"""The supervisor of background work: crashes are logged and restarted with a capped,
exponential back-off that resets after a healthy run; stop cancels and ends everything."""

from __future__ import annotations

import asyncio
import logging

import pytest
from shared_kernel.supervisor import Supervisor

pytestmark = pytest.mark.unit


class FakeTime:
    """A clock that advances only when the supervisor sleeps, or when a run says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def supervisor(time: FakeTime) -> Supervisor:
    return Supervisor(
        "test",
        initial_backoff=0.5,
        max_backoff=4.0,
        healthy_after=30.0,
        sleep=time.sleep,
        clock=time.clock,
    )


async def test_a_crash_is_logged_with_its_traceback_and_restarted_with_growing_back_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = FakeTime()
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 5:
            raise ConnectionError(f"database away ({runs})")

    with caplog.at_level(logging.ERROR, logger="shared_kernel.supervisor"):
        await supervisor(time).spawn("relay", flaky)

    assert runs == 6  # five crashes, then a run that finished its work: not started again
    assert time.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]  # doubled, capped
    crashes = [r for r in caplog.records if "test relay crashed" in r.getMessage()]
    assert len(crashes) == 5
    assert all(r.exc_info and isinstance(r.exc_info[1], ConnectionError) for r in crashes)


async def test_the_back_off_starts_over_after_a_run_that_lasted() -> None:
    time = FakeTime()
    durations = iter([0.0, 0.0, 0.0, 60.0, 0.0])

    async def work() -> None:
        duration = next(durations, None)
        if duration is None:
            return
        time.now += duration
        raise RuntimeError("broker away")

    await supervisor(time).spawn("projection", work)

    assert time.sleeps == [0.5, 1.0, 2.0, 0.5, 1.0]


async def test_stop_cancels_running_work_and_nothing_restarts_after_it() -> None:
    starts: list[str] = []
    cancelled: list[str] = []
    crashed_once = asyncio.Event()

    async def forever(name: str) -> None:
        starts.append(name)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    async def crashing() -> None:
        starts.append("crashing")
        crashed_once.set()
        raise RuntimeError("boom")

    work = Supervisor("test", initial_backoff=60.0)  # the crashed one waits in its back-off
    work.spawn("sweeper", lambda: forever("sweeper"))
    work.spawn("scheduler", lambda: forever("scheduler"))
    crashing_task = work.spawn("crashing", crashing)
    await asyncio.wait_for(crashed_once.wait(), timeout=1)
    await asyncio.sleep(0)

    await asyncio.wait_for(work.stop(), timeout=1)

    assert sorted(cancelled) == ["scheduler", "sweeper"]
    assert crashing_task.cancelled()
    assert starts.count("crashing") == 1  # cancelled in its back-off: never restarted
    assert work.crashes == {"crashing": 1}
