"""The inline::pypdf file processor: extract a file's text, then chunk it by token windows."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from typing import Any

from llama_workbench.apis.file_processors.models import ProcessFileResponse
from llama_workbench.apis.vector_io.models import (
    Chunk,
    ChunkingStrategyAuto,
    ChunkingStrategyStatic,
    ChunkMetadata,
)
from llama_workbench.core.errors import BadRequestError, PayloadTooLargeError
from llama_workbench.providers.inline.file_processors.pypdf.config import PyPDFProcessorConfig

# No chunking strategy: the whole text is one chunk, as 0.7.3 answers.
SINGLE_CHUNK_TOKENS = 1_000_000_000
_PDF_KEYS = ("title", "author", "subject", "creator", "producer")
_PDF_DATES = ("creation_date", "modification_date")


class PyPDFFileProcessor:
    """Files uploaded with the request or read through the Files API."""

    def __init__(self, config: PyPDFProcessorConfig, files: Any | None) -> None:
        self._config = config
        self._files = files

    async def process_file(
        self,
        file_id: str | None = None,
        content: bytes | None = None,
        filename: str | None = None,
        options: dict[str, Any] | None = None,
        chunking_strategy: ChunkingStrategyAuto | ChunkingStrategyStatic | None = None,
    ) -> ProcessFileResponse:
        start = time.monotonic()
        content, filename = await self._content(file_id, content, filename)
        text, info = await asyncio.to_thread(self._extract, content, filename)
        document_id = str(uuid.uuid4())
        document = {"filename": filename, **info["document"]}
        if file_id:
            document["file_id"] = file_id
        metadata = {
            "processor": "pypdf",
            "processing_time_ms": 0,
            "page_count": info["page_count"],
            "extraction_method": info["method"],
            "file_size_bytes": len(content),
            "mime_type": info["mime_type"],
            **info["document"],
        }
        chunks = self._chunks(text, document_id, file_id, document, chunking_strategy)
        metadata["processing_time_ms"] = int((time.monotonic() - start) * 1000)
        return ProcessFileResponse(chunks=chunks, metadata=metadata)

    async def shutdown(self) -> None:
        return None

    async def _content(
        self, file_id: str | None, content: bytes | None, filename: str | None
    ) -> tuple[bytes, str]:
        if (file_id is None) == (content is None):
            raise BadRequestError("Provide exactly one of file (an upload) or file_id.")
        if file_id is not None:
            if self._files is None:
                raise BadRequestError(
                    "file_id needs the Files API, which this stack does not enable; upload the "
                    "file with the request instead."
                )
            stored = await self._files.retrieve_file(file_id)
            if stored.bytes > self._config.max_file_size_bytes:
                raise self._too_large(stored.bytes)
            content, filename = await self._files.retrieve_file_content(file_id), stored.filename
        assert content is not None
        if len(content) > self._config.max_file_size_bytes:
            raise self._too_large(len(content))
        return content, filename or f"{uuid.uuid4()}.bin"

    def _too_large(self, size: int) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"File size {size} bytes exceeds the processor's maximum of "
            f"{self._config.max_file_size_bytes} bytes."
        )

    def _extract(self, content: bytes, filename: str) -> tuple[str, dict[str, Any]]:
        from llama_workbench.providers.utils.documents import extract_text

        extracted = extract_text(content, filename)
        pdf = extracted.mime_type == "application/pdf"
        info: dict[str, Any] = {
            "page_count": len(extracted.pages or []) if pdf else 1,
            "method": "pypdf" if pdf else "llama_workbench",
            "mime_type": extracted.mime_type,
            "document": _pdf_metadata(content) if pdf and self._config.extract_metadata else {},
        }
        text = _clean(extracted.text) if self._config.clean_text else extracted.text
        return text, info

    def _chunks(
        self,
        text: str,
        document_id: str,
        file_id: str | None,
        document: dict[str, Any],
        strategy: ChunkingStrategyAuto | ChunkingStrategyStatic | None,
    ) -> list[Chunk]:
        from llama_workbench.providers.utils.chunking import chunk_document, word_token_spans
        from llama_workbench.providers.utils.documents import ExtractedDocument

        if isinstance(strategy, ChunkingStrategyStatic):
            size = strategy.static.max_chunk_size_tokens
            overlap = strategy.static.chunk_overlap_tokens
        elif isinstance(strategy, ChunkingStrategyAuto):
            size = self._config.default_chunk_size_tokens
            overlap = self._config.default_chunk_overlap_tokens
        else:
            size, overlap = SINGLE_CHUNK_TOKENS, 0
        pieces = chunk_document(ExtractedDocument(text=text), word_token_spans, size, overlap)
        now = int(time.time())
        chunks = []
        for piece in pieces:
            chunk_id = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{document_id}:{piece.index}"))
            meta = ChunkMetadata(
                chunk_id=chunk_id,
                document_id=document_id,
                source=document["filename"],
                created_timestamp=now,
                updated_timestamp=now,
                chunk_window=f"{piece.start}-{piece.end}",
                chunk_tokenizer="words",
                content_token_count=piece.token_count,
                file_id=file_id,
                filename=document["filename"],
                chunk_index=piece.index,
                start_offset=piece.start,
                end_offset=piece.end,
            )
            chunks.append(
                Chunk(
                    content=piece.text,
                    chunk_id=chunk_id,
                    metadata={"document_id": document_id, **document},
                    chunk_metadata=meta,
                )
            )
        return chunks


def _clean(text: str) -> str:
    """Runs of whitespace in a line become one space; empty lines go (0.7.3's clean_text)."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _pdf_metadata(content: bytes) -> dict[str, Any]:
    import pypdf

    try:
        info = pypdf.PdfReader(io.BytesIO(content)).metadata
    except Exception:  # the text was read; damaged document info only loses these fields
        return {}
    if info is None:
        return {}
    found = {key: str(getattr(info, key)) for key in _PDF_KEYS if getattr(info, key, None)}
    for key in _PDF_DATES:
        try:
            value = getattr(info, key, None)
        except Exception:  # a malformed date string in the PDF
            value = None
        if value:
            found[key] = str(value)
    return found
