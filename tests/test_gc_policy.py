"""The garbage-collection policy of batch work restores what it found, however it is nested or left."""

from __future__ import annotations

import gc
import threading

import pytest

from federation import gc_policy
from federation.gc_policy import BATCH_THRESHOLD, batch, fewer_collections
from tests.support.builders import cluster_doc, load_node, member_doc


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


@pytest.fixture
def threshold_changes(monkeypatch):
    """Every ``gc.set_threshold`` call while the test runs; the policy is on again afterwards."""
    calls = []
    real = gc.set_threshold

    def recording(*args):
        calls.append(args)
        real(*args)

    monkeypatch.setattr(gc, "set_threshold", recording)
    yield calls
    gc_policy.configure(True)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_gc_fewer_collections_setting_turns_the_policy_on_or_off_for_a_harvest(
        backend, make_node, make_hub, serve, threshold_changes, enabled):
    before = gc.get_threshold()
    hub = make_hub("hub", {"gc": {"fewer_collections": enabled}})
    app = make_node("qoot")
    load_node(app, cluster_doc("qoot", "LB"), [member_doc("qoot-wine", "nace-rev2:11.02")])
    hub.nodes.register("qoot", serve(app).url)
    threshold_changes.clear()
    report = hub.harvester.harvest()
    assert report["counts"]["new_version"] == 1  # the harvest is the same either way
    raised = [args for args in threshold_changes if args[0] == max(before[0], BATCH_THRESHOLD)]
    assert bool(raised) is enabled, threshold_changes
    assert gc.get_threshold() == before
