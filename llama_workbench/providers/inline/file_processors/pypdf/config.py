"""Configuration of the inline::pypdf file processor."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from llama_workbench.apis.vector_io.models import (
    DEFAULT_CHUNK_OVERLAP_TOKENS,
    DEFAULT_CHUNK_SIZE_TOKENS,
)


class PyPDFProcessorConfig(BaseModel):
    """Llama Stack 0.7.3's inline::pypdf settings."""

    model_config = ConfigDict(extra="forbid")

    default_chunk_size_tokens: int = Field(
        DEFAULT_CHUNK_SIZE_TOKENS,
        ge=100,
        le=4096,
        description="Chunk size in tokens for chunking_strategy 'auto'.",
    )
    default_chunk_overlap_tokens: int = Field(
        DEFAULT_CHUNK_OVERLAP_TOKENS,
        ge=0,
        le=2048,
        description="Chunk overlap in tokens for chunking_strategy 'auto'.",
    )
    max_file_size_bytes: int = Field(
        100 * 1024 * 1024, ge=1, description="The largest file processed (uploaded or stored)."
    )
    extract_metadata: bool = Field(True, description="Add a PDF's title, author, ... to metadata.")
    clean_text: bool = Field(
        True, description="Collapse runs of spaces and drop empty lines from the extracted text."
    )
