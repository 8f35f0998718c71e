"""inline::toxicity: offensive language, by alt-profanity-check's bundled linear model."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import MissingDependencyError
from llama_workbench.providers.inline.safety.toxicity.config import ToxicityConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.safety.toxicity.impl import ToxicityImpl


async def create(config: ToxicityConfig, deps: ProviderDeps) -> ToxicityImpl:
    # Fail at start-up if the package is missing, without paying for its import until first use.
    if importlib.util.find_spec("profanity_check") is None:
        raise MissingDependencyError("alt-profanity-check", "safety", needed_by="inline::toxicity")
    from llama_workbench.providers.inline.safety.toxicity.impl import ToxicityImpl

    return ToxicityImpl(config)


__all__ = ["ToxicityConfig", "create"]
