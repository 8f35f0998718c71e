"""The notebook layer: `%load_ext llama_workbench` registers the `%llama` magics."""

from __future__ import annotations

from typing import Any

_session: Any = None


def load_ipython_extension(shell: Any) -> None:
    """Register `%llama` (silently); the stack itself is built on first use."""
    global _session
    from llama_workbench.jupyter.context import record_errors
    from llama_workbench.jupyter.magics import LlamaMagics
    from llama_workbench.jupyter.session import NotebookSession

    if _session is None:
        _session = NotebookSession()
        record_errors(shell)
    shell.register_magics(LlamaMagics(shell, _session))


def unload_ipython_extension(shell: Any) -> None:
    global _session
    if _session is not None:
        _session.close()
        _session = None
