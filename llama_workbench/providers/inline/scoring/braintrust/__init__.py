"""inline::braintrust: autoevals scorers (factuality, answer correctness, ...) on the stack's own models."""

from __future__ import annotations

from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.core.errors import MissingDependencyError
from llama_workbench.providers.inline.scoring.braintrust.config import BraintrustScoringConfig


async def create(config: BraintrustScoringConfig, deps: ProviderDeps) -> object:
    try:
        import autoevals  # noqa: F401
    except ImportError:
        raise MissingDependencyError("autoevals", "eval", needed_by="inline::braintrust") from None
    from llama_workbench.providers.inline.scoring.braintrust.impl import BraintrustScoringImpl

    return BraintrustScoringImpl(config, deps.provider_id, deps.apis[Api.inference])
