"""inline::prompt-guard: prompt injections and jailbreaks, by a classifier its wheel carries."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import MissingDependencyError
from llama_workbench.providers.inline.safety.prompt_guard.config import PromptGuardConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.safety.prompt_guard.impl import PromptGuardImpl

# The import name and the PyPI name of each model's package.
_PACKAGES = {
    "securevector": ("svguardian", "securevector-guardian-model"),
    "prompt-guardrail": ("guardify", "prompt-guardrail"),
}


async def create(config: PromptGuardConfig, deps: ProviderDeps) -> PromptGuardImpl:
    module, package = _PACKAGES[config.model]
    # Fail at start-up if the package is missing, without paying for its import until first use.
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(package, "safety", needed_by="inline::prompt-guard")
    from llama_workbench.providers.inline.safety.prompt_guard.impl import PromptGuardImpl

    return PromptGuardImpl(config)


__all__ = ["PromptGuardConfig", "create"]
