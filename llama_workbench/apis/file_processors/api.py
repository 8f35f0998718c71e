"""The File Processors API protocols."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from llama_workbench.apis.file_processors.models import ProcessFileResponse
from llama_workbench.apis.vector_io.models import ChunkingStrategyAuto, ChunkingStrategyStatic


@runtime_checkable
class FileProcessors(Protocol):
    """Turn a file into chunks: exactly one of `file_id` (a stored file) or `content` (bytes)."""

    async def process_file(
        self,
        file_id: str | None = None,
        content: bytes | None = None,
        filename: str | None = None,
        options: dict[str, Any] | None = None,
        chunking_strategy: ChunkingStrategyAuto | ChunkingStrategyStatic | None = None,
    ) -> ProcessFileResponse:
        """Without a chunking strategy the whole text is one chunk; `auto` uses the provider's
        sizes, `static` the given ones."""
        ...


@runtime_checkable
class FileProcessorsProvider(FileProcessors, Protocol):
    """What a file processor implements: the API itself, plus shutdown."""

    async def shutdown(self) -> None: ...
