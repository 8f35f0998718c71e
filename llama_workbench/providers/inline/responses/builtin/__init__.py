"""inline::builtin: the Responses API run in-process (tool loop, guardrails, storage, conversations)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.responses.builtin.config import BuiltinResponsesConfig


async def create(config: BuiltinResponsesConfig, deps: ProviderDeps) -> object:
    from llama_workbench.providers.inline.responses.builtin.impl import BuiltinResponses

    return BuiltinResponses(config, deps)
