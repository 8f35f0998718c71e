"""Waiting on a condition in tests: poll with a deadline, fail with what was last seen."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

EVERY_S = 0.05


def wait_for(
    read: Callable[[], T],
    until: Callable[[T], object] = bool,
    limit_s: float = 120,
    what: Callable[[T], object] | None = None,
) -> T:
    """Call `read` until `until(value)` holds and return that value; after `limit_s`, fail the
    test naming the last value (or `what(value)`)."""
    deadline, pause = time.monotonic() + limit_s, threading.Event()
    while True:
        value = read()
        if until(value):
            return value
        if time.monotonic() >= deadline:
            seen = what(value) if what else value
            raise AssertionError(f"still waiting after {limit_s} s: {seen!r}")
        pause.wait(EVERY_S)


def wait_until(
    condition: Callable[[], object],
    what: Callable[[], object] | None = None,
    limit_s: float = 120,
) -> None:
    """Wait until `condition()` holds; after `limit_s`, fail the test naming `what()`."""
    wait_for(condition, bool, limit_s, (lambda _: what()) if what else None)
