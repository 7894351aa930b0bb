"""Work without the cyclic garbage collector's long pauses: bulk commands, and a started
service's own objects.

A command that builds tens of thousands of objects at once (a 10,000-entry bulk posting:
aggregates, events, rows) triggers the collector again and again, and each older-generation
pass walks every object still alive, all of them the command's own and none garbage yet: a
third of such a command's CPU time, measured. ``collection_paused`` switches the collector off
for the duration of a block (reference counting still frees what is not in a cycle) and back
on afterwards; nested or concurrent blocks keep it off until the last one ends. Only for
blocks whose size is bounded (the collector is off for the whole process meanwhile).

A started service holds 140,000-170,000 objects the collector tracks (modules, the app, its
routes and validators, SQL metadata), all alive for the life of the process. A full
collection walked every one of them: 33-53 ms measured in a started ledger and risk process,
a pause of the whole event loop whenever one came due under load. ``freeze_started``, called
once the service has started, moves them out of the collector's sight (``gc.freeze``: a
constant-time move, and nothing is collected that could be garbage later but a cycle among
them); a full collection then took under 0.1 ms. ``thaw`` puts them back when the service
stops, so that a process that starts and stops services (a test run) loses nothing for good.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_holders = 0  # blocks running with the collector paused (tasks of one event loop)
_was_enabled = False  # the collector's state when the first of them began


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (see the module docstring)."""
    global _holders, _was_enabled
    if _holders == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _holders += 1
    try:
        yield
    finally:
        _holders -= 1
        if _holders == 0 and _was_enabled:
            gc.enable()


def freeze_started() -> None:
    """The service has started: its objects from now on are not walked by the collector."""
    gc.freeze()


def thaw() -> None:
    """The service stops: what ``freeze_started`` set aside is collectable again."""
    gc.unfreeze()
