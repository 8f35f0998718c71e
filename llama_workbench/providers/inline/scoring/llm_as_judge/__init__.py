"""inline::llm-as-judge: a judge model, a prompt template and regexes that read its score."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.providers.inline.scoring.llm_as_judge.config import LlmAsJudgeScoringConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.scoring.llm_as_judge.impl import LlmAsJudgeScoringImpl


async def create(config: LlmAsJudgeScoringConfig, deps: ProviderDeps) -> LlmAsJudgeScoringImpl:
    from llama_workbench.providers.inline.scoring.llm_as_judge.impl import LlmAsJudgeScoringImpl

    return LlmAsJudgeScoringImpl(config, deps.provider_id, deps.apis[Api.inference])
