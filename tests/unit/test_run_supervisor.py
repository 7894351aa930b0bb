"""`make run`'s supervisor: a service that dies is restarted with back-off, the rest stay up."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy"))

from supervisor import Backoff, Process, Supervisor

pytestmark = pytest.mark.unit


class FakeProcess:
    """A child process that exits when the test says so."""

    next_pid = 100

    def __init__(self) -> None:
        FakeProcess.next_pid += 1
        self.pid = FakeProcess.next_pid
        self.returncode: int | None = None
        self.terminated = False

    def poll(self) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        self.terminated = True
        self.returncode = -15

    def kill(self) -> None:
        self.returncode = -9

    def wait(self, timeout: float | None = None) -> int:
        assert self.returncode is not None
        return self.returncode


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_up_to_thirty_seconds_and_resets_after_a_healthy_minute() -> None:
    backoff = Backoff()
    assert [backoff.delay(ran_for=2) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(ran_for=61) == 1
    assert backoff.delay(ran_for=3) == 2


def test_a_dead_service_is_restarted_after_its_delay_and_the_others_stay_up() -> None:
    clock, lines = Clock(), list[str]()
    supervisor = Supervisor(log=lines.append, clock=clock)
    launched: list[FakeProcess] = []

    def launch() -> Process:
        launched.append(FakeProcess())
        return launched[-1]

    ledger, gateway = FakeProcess(), FakeProcess()
    supervisor.watch("ledger", ledger, launch)
    supervisor.watch("gateway", gateway, launch)

    ledger.returncode = -9  # SIGKILL
    clock.now += 5
    supervisor.check()
    assert launched == [] and "ledger" in lines[-1] and "restarting in 1 s" in lines[-1]
    clock.now += 0.5
    supervisor.check()
    assert launched == []
    clock.now += 0.5
    supervisor.check()
    assert len(launched) == 1 and supervisor.process_of("ledger") is launched[0]
    assert supervisor.process_of("gateway") is gateway and not gateway.terminated
    assert "ledger restarted" in lines[-1]

    launched[0].returncode = 1  # dies again at once: the next delay is longer
    supervisor.check()
    clock.now += 1.5
    supervisor.check()
    assert len(launched) == 1
    clock.now += 0.5
    supervisor.check()
    assert len(launched) == 2


def test_stop_terminates_every_process_and_restarts_nothing() -> None:
    clock = Clock()
    supervisor = Supervisor(log=lambda line: None, clock=clock)
    launched: list[FakeProcess] = []

    def launch() -> Process:
        launched.append(FakeProcess())
        return launched[-1]

    ledger, gateway = FakeProcess(), FakeProcess()
    supervisor.watch("ledger", ledger, launch)
    supervisor.watch("gateway", gateway, launch)
    ledger.returncode = 1
    supervisor.check()
    supervisor.stop()
    clock.now += 60
    assert gateway.terminated and launched == []


def test_each_replica_is_its_own_process_and_a_restart_is_announced() -> None:
    clock, restarted = Clock(), list[str]()
    supervisor = Supervisor(log=lambda line: None, clock=clock, on_restart=restarted.append)
    first, second = FakeProcess(), FakeProcess()
    again = FakeProcess()
    supervisor.watch("ledger#1", first, FakeProcess)
    supervisor.watch("ledger#2", second, lambda: again)
    second.returncode = -9
    supervisor.check()
    clock.now += 1
    supervisor.check()
    assert restarted == ["ledger#2"]  # run.py rewrites its process file with the new pid
    assert supervisor.process_of("ledger#2") is again
    assert supervisor.process_of("ledger#1") is first
