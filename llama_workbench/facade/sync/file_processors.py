"""`stack.file_processors`: the FileProcessors API as calls that return results.

Generated from llama_workbench/apis/file_processors/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import SyncFace

if TYPE_CHECKING:
    from typing import Any

    from llama_workbench.apis.file_processors.models import ProcessFileResponse
    from llama_workbench.apis.vector_io.models import ChunkingStrategyAuto, ChunkingStrategyStatic


class FileProcessorsApi(SyncFace):
    """Turn a file into chunks: exactly one of `file_id` (a stored file) or `content` (bytes)."""

    __slots__ = ()

    def process_file(
        self,
        file_id: str | None = None,
        content: bytes | None = None,
        filename: str | None = None,
        options: dict[str, Any] | None = None,
        chunking_strategy: ChunkingStrategyAuto | ChunkingStrategyStatic | None = None,
    ) -> ProcessFileResponse:
        """Without a chunking strategy the whole text is one chunk; `auto` uses the provider's
        sizes, `static` the given ones.
        """
        return cast("ProcessFileResponse", self._call("process_file", locals()))
