"""Config of inline::llm-as-judge: the default judge model and how many judge calls run at once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LlmAsJudgeScoringConfig(BaseModel):
    """Defaults for judge functions; each function's params may name its own judge model."""

    model_config = ConfigDict(extra="forbid")

    judge_model: str | None = Field(
        None,
        description="Model id (as the stack names it, e.g. 'vllm/llama-3.1-8b') the built-in "
        "functions judge with unless their params name one.",
    )
    max_concurrency: int = Field(4, ge=1, description="Judge calls in flight at once.")
    max_tokens: int | None = Field(
        None, ge=1, description="Longest judge answer, in tokens; None: the model's default."
    )
