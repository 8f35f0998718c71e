"""inline::llama-guard: a Llama Guard 3 model, served by any inference provider, as a shield."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.core.errors import ResolverError
from llama_workbench.providers.inline.safety.llama_guard.config import LlamaGuardConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.safety.llama_guard.impl import LlamaGuardSafety

__all__ = ["LlamaGuardConfig", "create"]


async def create(config: LlamaGuardConfig, deps: ProviderDeps) -> LlamaGuardSafety:
    from llama_workbench.providers.inline.safety.llama_guard.impl import LlamaGuardSafety

    models = deps.apis.get(Api.models)
    if models is None:
        raise ResolverError(
            f"Safety provider '{deps.provider_id}' (inline::llama-guard) needs the Models API to "
            "find its guard models; its provider spec must list 'models' among its dependencies."
        )
    return LlamaGuardSafety(deps.provider_id, config, deps.apis[Api.inference], models)
