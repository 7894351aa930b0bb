"""``collection_paused``: the collector is off inside, back to its state after the last of
nested (or concurrent) blocks, also when a block fails."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from shared_kernel.gc_pause import collection_paused, freeze_started, thaw

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_off_inside_and_on_after_the_last_block() -> None:
    gc.enable()
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()


def test_a_failing_block_turns_it_back_on() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    with collection_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_a_started_services_objects_are_set_aside_and_new_garbage_still_collected() -> None:
    """``freeze_started``: what lives at start-up is no longer walked by a collection; a
    cycle made later is still found; ``thaw`` makes everything collectable again."""

    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    gc.enable()
    before = Node()
    before.other = before
    freeze_started()
    try:
        assert gc.get_freeze_count() > 0
        assert not any(o is before for o in gc.get_objects())  # not walked by collections
        later = Node()
        later.other = later
        del later
        assert gc.collect() >= 1  # the new cycle
    finally:
        thaw()
    assert gc.get_freeze_count() == 0
    assert any(o is before for o in gc.get_objects())
