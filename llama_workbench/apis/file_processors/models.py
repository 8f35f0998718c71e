"""Types of the File Processors API (Llama Stack 0.7.3's ProcessFileResponse)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from llama_workbench.apis.base import ApiModel
from llama_workbench.apis.vector_io.models import Chunk


class ProcessFileResponse(ApiModel):
    """The chunks of a processed file, ready for a vector store, and facts about the run."""

    chunks: list[Chunk] = Field(description="The file's chunks (none when it holds no text).")
    metadata: dict[str, Any] = Field(
        description=(
            "processor, processing_time_ms, page_count, extraction_method, file_size_bytes, "
            "and the document's own metadata (PDF title, author, ...)."
        )
    )
