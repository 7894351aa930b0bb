"""`make run` keeps its services up: one that dies is started again, with back-off.

The first restart waits 1 s, each further one twice as long, up to 30 s; a process that ran for a
minute before it died counts as healthy again and is restarted after 1 s. The other processes
are left alone. Every exit and restart is logged, and ``on_restart`` hears of each restart (run.py
rewrites its process file, so that tools find the new pid).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
HEALTHY_AFTER_S = 60.0


class Process(Protocol):
    """What the supervisor needs of a child process (``subprocess.Popen`` has it)."""

    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...


@dataclass
class Backoff:
    """Delays before restarts: doubling from ``first`` to ``limit``, reset by a healthy run."""

    first: float = FIRST_DELAY_S
    limit: float = MAX_DELAY_S
    healthy_after: float = HEALTHY_AFTER_S
    _next: float = field(default=0.0, init=False)

    def delay(self, ran_for: float) -> float:
        """The wait before restarting a process that exited after running ``ran_for`` seconds."""
        if ran_for >= self.healthy_after or not self._next:
            self._next = self.first
        delay = self._next
        self._next = min(self._next * 2, self.limit)
        return delay


@dataclass
class Supervised:
    name: str
    process: Process
    launch: Callable[[], Process]
    started_at: float
    backoff: Backoff = field(default_factory=Backoff)
    restart_at: float | None = None


class Supervisor:
    """Watches processes and restarts those that exit; ``check`` is called every second or so."""

    def __init__(
        self,
        log: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
        on_restart: Callable[[str], None] = lambda name: None,
    ) -> None:
        self._log = log
        self._clock = clock
        self._on_restart = on_restart
        self._children: list[Supervised] = []

    @property
    def processes(self) -> list[Process]:
        return [child.process for child in self._children]

    def watch(self, name: str, process: Process, launch: Callable[[], Process]) -> None:
        """Supervise ``process``; ``launch`` starts it again the same way."""
        self._children.append(Supervised(name, process, launch, self._clock()))

    def process_of(self, name: str) -> Process:
        return next(child.process for child in self._children if child.name == name)

    def check(self) -> None:
        """Notice exits and schedule their restart; restart those whose delay has passed."""
        now = self._clock()
        for child in self._children:
            if child.restart_at is None:
                code = child.process.poll()
                if code is None:
                    continue
                ran_for = now - child.started_at
                delay = child.backoff.delay(ran_for)
                child.restart_at = now + delay
                self._log(
                    f"supervisor: {child.name} (pid {child.process.pid}) exited with {code} "
                    f"after {ran_for:.0f} s; restarting in {delay:.0f} s"
                )
            elif now >= child.restart_at:
                child.process = child.launch()
                child.started_at, child.restart_at = now, None
                self._log(f"supervisor: {child.name} restarted (pid {child.process.pid})")
                self._on_restart(child.name)

    def stop(self, timeout: float = 15) -> None:
        """Terminate every process (the last started first), kill those that do not end."""
        for child in reversed(self._children):
            child.restart_at = None
            if child.process.poll() is None:
                child.process.terminate()
        for child in self._children:
            try:
                child.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
