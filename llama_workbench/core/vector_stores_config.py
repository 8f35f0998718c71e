"""The run config's `vector_stores:` section (a leaf: pydantic only).

Its own module so that the run config (`core/config.py`) and the Llama Stack key mapping
(`core/compat.py`) both read it without importing each other.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ContextualRetrievalParams", "QualifiedModel", "VectorStoresConfig"]


class QualifiedModel(BaseModel):
    """A model named by id, optionally pinned to the provider that serves it."""

    model_config = ConfigDict(extra="forbid")

    provider_id: str | None = None
    model_id: str = Field(min_length=1)


class ContextualRetrievalParams(BaseModel):
    """Defaults of contextual chunking (Llama Stack 0.7.3's contextual_retrieval_params)."""

    model_config = ConfigDict(extra="forbid")

    model: QualifiedModel | None = Field(
        None, description="The LLM a contextual chunking strategy without model_id uses."
    )
    default_timeout_seconds: int = Field(120, ge=10, description="Per LLM call.")
    default_max_concurrency: int = Field(3, ge=1, description="LLM calls at once, per file.")
    max_document_tokens: int = Field(
        100_000, ge=1000, description="Larger documents (~4 characters a token) are refused."
    )


class VectorStoresConfig(BaseModel):
    """Defaults of the vector stores (Llama Stack's `vector_stores:` section; other keys kept)."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    default_provider_id: str | None = Field(
        None, description="The vector_io provider new stores use (default: the first one)."
    )
    default_embedding_model: QualifiedModel | None = Field(
        None, description="The embedding model new stores use (default: the first one served)."
    )
    default_search_mode: Literal["vector", "keyword", "hybrid"] = "vector"
    embedding_batch_size: int = Field(64, ge=1, description="Chunks embedded per call.")
    # A request that attaches a file indexes it in the background (OpenAI's behaviour); a small
    # file that is indexed quickly still answers `completed`, as Llama Stack's clients expect.
    attach_wait_s: float = Field(
        2.0,
        ge=0.0,
        description=(
            "How long POST /v1/vector_stores/{id}/files waits for indexing before answering "
            "in_progress (indexing goes on in the background)."
        ),
    )
    attach_wait_max_bytes: int = Field(
        256 * 1024,
        ge=0,
        description="Files larger than this answer in_progress at once, without waiting.",
    )
    contextual_retrieval_params: ContextualRetrievalParams = Field(
        default_factory=ContextualRetrievalParams
    )
