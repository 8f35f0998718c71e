"""Checks that optional packages are installed, without importing them (imports wait for first use)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from collections.abc import Iterable

from llama_workbench.core.errors import MissingDependencyError

# Names in ProviderSpec.pip_packages that are an import name, not the distribution's.
PIP_NAMES = {"llama_cpp": "llama-cpp-python"}


def require_installed(module: str, extra: str, *, needed_by: str, package: str = "") -> None:
    """Raise MissingDependencyError (with the pip command) now if `module` can't be imported.

    Providers call this in `create()` so a missing extra is an error when the stack is built,
    while the import itself, often a large share of start-up, happens on first use.
    """
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(package or module, extra, needed_by=needed_by)


def distributions_installed(requirements: Iterable[str]) -> bool:
    """Whether each pip requirement ("faiss-cpu", "elasticsearch[async]") is installed.

    Looked up by distribution name, as pip knows it: the import name often differs
    (faiss-cpu is `faiss`, qdrant-client is `qdrant_client`), so find_spec can't tell.
    """
    for requirement in requirements:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
        name = match.group(0) if match else requirement
        try:
            importlib.metadata.distribution(PIP_NAMES.get(name, name))
        except importlib.metadata.PackageNotFoundError:
            return False
    return True
