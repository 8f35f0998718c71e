"""llama_workbench: the Llama Stack model (typed APIs, swappable providers, YAML run configs) in Jupyter."""

from __future__ import annotations

import logging as _logging

from llama_workbench.core import app_hook as _app_hook
from llama_workbench.core import gc_tuning as _gc_tuning

with _gc_tuning.paused():  # the import below creates ~50k long-lived objects and no garbage
    from llama_workbench.core.config import StackConfig, load_config
    from llama_workbench.core.datatypes import Api, ProviderDeps, ProviderSpec
    from llama_workbench.core.errors import (
        AuthenticationError,
        BadRequestError,
        ConfigError,
        ConflictError,
        LlamaWorkbenchError,
        MissingDependencyError,
        NotFoundError,
        PermissionDeniedError,
        ProviderError,
        ProviderUnavailableError,
        RateLimitError,
        ResolverError,
        StorageError,
        UnprocessableError,
    )
    from llama_workbench.core.stack import Stack
    from llama_workbench.distributions import list_distributions
    from llama_workbench.version import __version__

_LAZY = {
    "Agent": "llama_workbench.agents",
    "FunctionTool": "llama_workbench.agents",
    "recording": "llama_workbench.providers.utils.recording",
    "register_scoring_fn": "llama_workbench.scoring",
    "scoring_function": "llama_workbench.scoring",
    "start_server": "llama_workbench.server.runner",
    "tool": "llama_workbench.agents",
}


def __getattr__(name: str) -> object:
    # Kept out of `import llama_workbench`, which must stay light (httpx, FastAPI, uvicorn).
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'llama_workbench' has no attribute '{name}'")


def load_ipython_extension(shell: object) -> None:
    """`%load_ext llama_workbench`: the `%llama` magics (llama_workbench.jupyter)."""
    from llama_workbench.jupyter import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell: object) -> None:
    from llama_workbench.jupyter import unload_ipython_extension as unload

    unload(shell)


def _in_process_app(stack: Stack) -> object:
    """The stack's REST app for its in-process clients: server/app.py's, without auth."""
    from llama_workbench.server.app import create_app

    return create_app(stack, authenticate=False)


# The composition root: core reaches the server layer's app through this hook, never by import.
_app_hook.provide_app_factory(_in_process_app)

_gc_tuning.install_exit_freeze()

# A library leaves logging configuration to its host: no output unless the host asks for it.
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "Agent",
    "Api",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "FunctionTool",
    "LlamaWorkbenchError",
    "MissingDependencyError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderDeps",
    "ProviderError",
    "ProviderSpec",
    "ProviderUnavailableError",
    "RateLimitError",
    "ResolverError",
    "Stack",
    "StackConfig",
    "StorageError",
    "UnprocessableError",
    "__version__",
    "list_distributions",
    "load_config",
    "load_ipython_extension",
    "recording",
    "register_scoring_fn",
    "scoring_function",
    "start_server",
    "tool",
    "unload_ipython_extension",
]
