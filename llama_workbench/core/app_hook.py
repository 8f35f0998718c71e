"""Where core gets the stack's REST app from, without importing the server layer.

The in-process clients (`stack.openai()`, ..., `core/inprocess_clients.py`) answer each request
with the stack's own REST app, which the server layer builds (`server/app.py`). The server
imports core, so core never imports the server: the package's composition root
(`llama_workbench/__init__.py`, run before any of its modules) provides the factory here, and
core asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_workbench.core.stack import Stack

__all__ = ["AppFactory", "provide_app_factory", "rest_app"]

AppFactory = Callable[["Stack"], Any]
"""Builds the ASGI app that serves a stack's REST routes to the in-process clients."""

_factory: AppFactory | None = None


def provide_app_factory(factory: AppFactory) -> None:
    """Set the factory `rest_app` calls (the server layer's, set by `llama_workbench`)."""
    global _factory
    _factory = factory


def rest_app(stack: Stack) -> Any:
    """A new ASGI app serving `stack`'s REST routes, from the provided factory."""
    if _factory is None:
        raise RuntimeError(
            "no REST app factory was provided: llama_workbench/__init__.py provides the "
            "server's (server/app.py) when the package is imported"
        )
    return _factory(stack)
