"""inline::basic: exact match, subset, multiple-choice and math answer parsers, and Python functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.scoring.basic.config import BasicScoringConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.scoring.basic.impl import BasicScoringImpl


async def create(config: BasicScoringConfig, deps: ProviderDeps) -> BasicScoringImpl:
    from llama_workbench.providers.inline.scoring.basic.impl import BasicScoringImpl

    return BasicScoringImpl(config, deps.provider_id)
