"""Waiting for something another thread or process does: poll its condition until a deadline, and fail with a clear
message, rather than sleeping a fixed time and hoping it happened."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")
#: How often a condition is looked at: short, the conditions are cheap (a query, a list).
POLL_S = 0.02


def poll_until(predicate: Callable[[], T], timeout: float) -> T | None:
    """``predicate()``'s first truthy value within ``timeout`` seconds, else None (for waits that may end either
    way)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value or None
        time.sleep(POLL_S)


def wait_until(predicate: Callable[[], T], timeout: float = 8.0, what: str = "the condition") -> T:
    """``predicate()``'s first truthy value; fails the test if none comes within ``timeout`` seconds."""
    value = poll_until(predicate, timeout)
    if not value:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")
    return value
