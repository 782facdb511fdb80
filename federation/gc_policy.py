"""Garbage collection during batch work (a harvest, a formation).

A harvest parses documents of thousands of objects that live just long enough to be promoted by CPython's young
generation collections, while the hub holds a large, long-lived set of objects (formation keeps every member of every
cluster): each promotion then brings a full collection closer, and every full collection walks everything the hub
holds. Measured on 200 nodes x 400 members, about a third of a full harvest went to garbage collection, nearly all of
it in full collections. Collecting the young generation less often lets those temporaries die by reference counting
first; nothing else changes (cycles are still collected, a little later).
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

#: Allocations between two young-generation collections during batch work (CPython's default is 700).
BATCH_THRESHOLD = 20_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] | None = None
_enabled = True


F = TypeVar("F", bound=Callable)


def configure(enabled: bool) -> None:
    """Turn the policy on or off for this process (the ``gc.fewer_collections`` setting, read by ``Hub.build``).
    Off, :func:`fewer_collections` leaves CPython's thresholds alone; a block already running keeps its setting."""
    global _enabled
    with _lock:
        _enabled = bool(enabled)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young-generation threshold while the block runs (nested and concurrent uses share one setting;
    the last to leave restores the threshold found by the first). Nothing happens while the policy is off."""
    global _depth, _saved
    with _lock:
        if _depth == 0 and _enabled:
            _saved = gc.get_threshold()
            gc.set_threshold(max(_saved[0], BATCH_THRESHOLD), *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None


def batch(function: F) -> F:
    """Decorator: run ``function`` under :func:`fewer_collections`."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with fewer_collections():
            return function(*args, **kwargs)
    return wrapper  # type: ignore[return-value]
