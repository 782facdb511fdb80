"""The garbage-collection policy of batch work restores what it found, however it is nested or left."""

from __future__ import annotations

import gc
import threading

import pytest

from federation.gc_policy import BATCH_THRESHOLD, batch, fewer_collections


def test_the_threshold_is_raised_inside_and_restored_after():
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == max(before[0], BATCH_THRESHOLD)
        assert gc.get_threshold()[1:] == before[1:]
        with fewer_collections():
            assert gc.get_threshold()[0] == max(before[0], BATCH_THRESHOLD)
        assert gc.get_threshold()[0] == max(before[0], BATCH_THRESHOLD)  # the inner block left, the outer still runs
    assert gc.get_threshold() == before


def test_restored_after_an_error_and_across_threads():
    before = gc.get_threshold()

    @batch
    def fails():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fails()
    assert gc.get_threshold() == before
    inside = threading.Event()
    leave = threading.Event()

    def worker():
        with fewer_collections():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    with fewer_collections():
        pass  # leaving here must not restore: the worker is still inside
    assert gc.get_threshold()[0] == max(before[0], BATCH_THRESHOLD)
    leave.set()
    thread.join(5)
    assert gc.get_threshold() == before
