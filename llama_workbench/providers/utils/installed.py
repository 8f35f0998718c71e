"""Checks that optional packages are installed, without importing them (imports wait for first use)."""

from __future__ import annotations

import importlib.util

from llama_workbench.core.errors import MissingDependencyError


def require_installed(module: str, extra: str, *, needed_by: str, package: str = "") -> None:
    """Raise MissingDependencyError (with the pip command) now if `module` can't be imported.

    Providers call this in `create()` so a missing extra is an error when the stack is built,
    while the import itself, often a large share of start-up, happens on first use.
    """
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(package or module, extra, needed_by=needed_by)
