"""The per-stream hash chains (``sealing.StreamChainCheck``), as ``verify_chain`` walks them:
the lowest-positioned event that breaks its stream is named."""

from __future__ import annotations

from dataclasses import replace

import pytest
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.eventstore import EventMetadata, NewEvent, StreamAppend, chain_events
from shared_kernel.sealing import StreamChainCheck

pytestmark = pytest.mark.unit

METADATA = EventMetadata(Actor("user:test", "back"), "c", "c")


def chained(positions: list[int]) -> list[tuple[EventEnvelope, str]]:
    """Stream a (3 events) and b (2 events) interleaved at ``positions``."""
    appends = [
        StreamAppend("a", "t", 0, [NewEvent("t.Done", 1, {"n": n}) for n in range(3)]),
        StreamAppend("b", "t", 0, [NewEvent("t.Done", 1, {"n": n}) for n in range(2)]),
    ]
    return list(chain_events("/test", appends, METADATA, positions, {}))


def check(pairs: list[tuple[EventEnvelope, str]]) -> int | None:
    by_stream = sorted(pairs, key=lambda p: (p[0].subject, p[0].stream_version))
    broken = StreamChainCheck().feed_all(by_stream)
    return None if broken is None else broken.position


def test_untouched_streams_hold() -> None:
    assert check(chained([1, 3, 5, 2, 4])) is None


def test_a_changed_event_is_named() -> None:
    pairs = chained([1, 3, 5, 2, 4])
    envelope, hash_ = pairs[1]
    pairs[1] = (replace(envelope, data={"n": 99}), hash_)
    assert check(pairs) == 3


def test_an_event_removed_inside_a_stream_names_the_next_of_that_stream() -> None:
    pairs = chained([1, 3, 5, 2, 4])
    del pairs[1]  # a's version 2 at position 3: a's version 3 (position 5) breaks
    assert check(pairs) == 5


def test_the_lowest_position_of_several_breaks_is_named() -> None:
    pairs = chained([1, 3, 5, 2, 4])
    for index in (2, 4):  # a@5 and b@4
        envelope, _ = pairs[index]
        pairs[index] = (envelope, "0" * 64)
    assert check(pairs) == 4
