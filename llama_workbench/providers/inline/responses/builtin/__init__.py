"""inline::builtin: the Responses API run in-process (tool loop, guardrails, storage, conversations)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.responses.builtin.config import BuiltinResponsesConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.responses.builtin.impl import BuiltinResponses


async def create(config: BuiltinResponsesConfig, deps: ProviderDeps) -> BuiltinResponses:
    from llama_workbench.providers.inline.responses.builtin.impl import BuiltinResponses

    return BuiltinResponses(config, deps)
