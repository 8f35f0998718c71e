"""inline::braintrust: autoevals scorers (factuality, answer correctness, ...) on the stack's own models."""

from __future__ import annotations

import importlib.util

from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.core.errors import MissingDependencyError
from llama_workbench.providers.inline.scoring.braintrust.config import BraintrustScoringConfig


async def create(config: BraintrustScoringConfig, deps: ProviderDeps) -> object:
    # Checked without importing it: autoevals' import costs over a second, paid on first use.
    if importlib.util.find_spec("autoevals") is None:
        raise MissingDependencyError("autoevals", "eval", needed_by="inline::braintrust")
    from llama_workbench.providers.inline.scoring.braintrust.impl import BraintrustScoringImpl

    return BraintrustScoringImpl(config, deps.provider_id, deps.apis[Api.inference])
