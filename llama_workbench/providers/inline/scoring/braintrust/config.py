"""Config of inline::braintrust: the stack models its LLM and embedding scorers use."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BraintrustScoringConfig(BaseModel):
    """autoevals' scorers call these models through the stack's Inference API (no OpenAI key)."""

    model_config = ConfigDict(extra="forbid")

    judge_model: str | None = Field(
        None,
        description="Chat model id (as the stack names it) of the LLM scorers; params of type "
        "llm_as_judge may name another per call.",
    )
    embedding_model: str | None = Field(
        None,
        description="Embedding model id of answer-similarity, answer-relevancy and "
        "context-entity-recall (and of answer-correctness's similarity part).",
    )
    max_concurrency: int = Field(4, ge=1, description="Rows scored at once.")
