"""inline::braintrust: autoevals scorers (factuality, answer correctness, ...) on the stack's own models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.providers.inline.scoring.braintrust.config import BraintrustScoringConfig
from llama_workbench.providers.utils.installed import require_installed

if TYPE_CHECKING:
    from llama_workbench.providers.inline.scoring.braintrust.impl import BraintrustScoringImpl


async def create(config: BraintrustScoringConfig, deps: ProviderDeps) -> BraintrustScoringImpl:
    # Imported when a scorer first runs: autoevals' import (jsonschema's grammar) costs ~1 s.
    require_installed("autoevals", "eval", needed_by="inline::braintrust")
    from llama_workbench.providers.inline.scoring.braintrust.impl import BraintrustScoringImpl

    return BraintrustScoringImpl(config, deps.provider_id, deps.apis[Api.inference])
