"""Garbage-collector settings for the bursts of long-lived allocation a stack makes.

Importing the package and building a stack create tens of thousands of objects (pydantic
models, provider configs, routers) that live as long as the process. CPython's cyclic
collector runs every few hundred allocations and re-walks all of them each time: about 40 ms
of a 0.4 s start-up here, for no garbage. At interpreter exit it walks and frees the whole
heap once more (about 100 ms), memory the operating system reclaims anyway.

`paused()` suspends collection (not allocation or reference counting) for such a burst;
`install_exit_freeze()` moves what is alive at exit into the permanent generation, after
every stack has been closed, so the final collections skip it. Objects are still released
by reference counting, files are still flushed and atexit handlers still run.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
from collections.abc import Iterator

_exit_freeze_installed = False


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Suspend the cyclic collector for the block (no-op when the host has already disabled it)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def install_exit_freeze() -> None:
    """At interpreter exit, skip the final collections over what is still alive (idempotent)."""
    global _exit_freeze_installed
    if not _exit_freeze_installed:
        _exit_freeze_installed = True
        atexit.register(gc.freeze)


def freeze_startup_heap() -> None:
    """For a long-running process (the server) once it is up: what start-up made lives as long
    as the process, so the collector's full passes stop re-walking it (the permanent generation).
    Garbage made later is collected as always."""
    gc.freeze()
