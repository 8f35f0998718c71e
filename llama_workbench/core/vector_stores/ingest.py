"""One file into a vector store: extract text, chunk by tokens, embed in batches, index in bulk."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from llama_workbench.apis.vector_io.api import IngestProgress, ProgressCallback, VectorIOProvider
from llama_workbench.apis.vector_io.models import (
    DEFAULT_CHUNK_OVERLAP_TOKENS,
    DEFAULT_CHUNK_SIZE_TOKENS,
    ChunkingStrategy,
    ChunkingStrategyContextual,
    ChunkingStrategyStatic,
    ChunkingStrategyStaticConfig,
    ChunkMetadata,
    EmbeddedChunk,
    VectorStoreRecord,
)
from llama_workbench.core.errors import CancelledError, UnprocessableError

Embed = Callable[[list[str]], Awaitable[list[list[float]]]]


class Contextualize(Protocol):
    """Rewrites chunk texts before they are embedded (contextual chunking); `check` raises
    when the file as a whole should fail."""

    async def __call__(self, texts: list[str]) -> list[str]: ...

    def check(self) -> None: ...


@dataclass(frozen=True)
class TextLimits:
    """How the store's embedding model counts tokens: its tokenizer and input limit."""

    spans: Any  # chunking.TokenSpans
    tokenizer_name: str
    max_input_tokens: int | None


@dataclass(frozen=True)
class IngestResult:
    chunks: int
    usage_bytes: int


def chunk_sizes(strategy: ChunkingStrategy, limits: TextLimits) -> tuple[int, int]:
    """(max tokens, overlap) for a strategy; `auto` fits chunks to the model's input limit."""
    if isinstance(strategy, ChunkingStrategyContextual):  # overlap < size, checked by its model
        return strategy.contextual.max_chunk_size_tokens, strategy.contextual.chunk_overlap_tokens
    if isinstance(strategy, ChunkingStrategyStatic):
        size = strategy.static.max_chunk_size_tokens
        overlap = strategy.static.chunk_overlap_tokens
        if overlap > size // 2:
            raise UnprocessableError(
                f"chunk_overlap_tokens ({overlap}) must be at most half of max_chunk_size_tokens "
                f"({size})."
            )
        return size, overlap
    if limits.max_input_tokens and limits.max_input_tokens - 2 < DEFAULT_CHUNK_SIZE_TOKENS:
        # Beyond its input limit a model silently truncates: such chunks would be half-indexed.
        size = max(16, limits.max_input_tokens - 2)
        return size, size // 4
    return DEFAULT_CHUNK_SIZE_TOKENS, DEFAULT_CHUNK_OVERLAP_TOKENS  # Llama Stack 0.7.3's


def resolved_strategy(strategy: ChunkingStrategy, limits: TextLimits) -> ChunkingStrategy:
    """`auto` as what it is for this store's model: `static` with the sizes used (as 0.7.3 reports
    it: 800/400 tokens, less where the embedding model reads fewer)."""
    if isinstance(strategy, ChunkingStrategyStatic | ChunkingStrategyContextual):
        return strategy
    size, overlap = chunk_sizes(strategy, limits)
    # Constructed: a small model's limit may be under the 100 tokens a request may ask for.
    config = ChunkingStrategyStaticConfig.model_construct(
        max_chunk_size_tokens=size, chunk_overlap_tokens=overlap
    )
    return ChunkingStrategyStatic(static=config)


async def ingest_file(
    *,
    provider: VectorIOProvider,
    store: VectorStoreRecord,
    file_id: str,
    filename: str,
    content: bytes,
    sizes: tuple[int, int],
    limits: TextLimits,
    embed: Embed,
    batch_size: int,
    on_progress: ProgressCallback | None,
    cancelled: Callable[[], bool],
    present: set[str] | frozenset[str] = frozenset(),
    contextual: Callable[[str], Contextualize] | None = None,
) -> IngestResult:
    """Index a file's chunks; raises UnprocessableError for unreadable files, CancelledError.

    Chunks whose ids are in `present` (committed by an interrupted run) are not indexed again.
    `contextual(document text)` rewrites the chunks' texts before they are embedded and stored.
    """
    whole, pieces = await _parsed(content, filename, limits, sizes, contextual is not None)
    total = len(pieces)
    report = _reporter(on_progress, file_id, filename, total)
    report("parsed", 0)
    rewrite = contextual(whole) if contextual is not None else None
    source = _Source(store, file_id, filename, limits.tokenizer_name, int(time.time()))
    todo = [p for p in pieces if f"{file_id}-{p.index}" not in present]
    done = total - len(todo)
    usage = sum(len(p.text.encode()) + 4 * store.embedding_dimension for p in pieces)
    for start in range(0, len(todo), batch_size):
        if cancelled():
            raise CancelledError(f"Indexing of {filename} was cancelled.")
        batch = todo[start : start + batch_size]
        texts = [p.text for p in batch]
        if rewrite is not None:
            texts = await rewrite(texts)
        vectors = await embed(texts)
        chunks = [
            source.chunk(piece, text, vector)
            for piece, text, vector in zip(batch, texts, vectors, strict=True)
        ]
        await provider.add_chunks(store.identifier, chunks)
        done += len(chunks)
        report("embedding", done)
    if rewrite is not None:
        rewrite.check()
    report("completed", done)
    return IngestResult(chunks=done, usage_bytes=usage)


async def _parsed(
    content: bytes, filename: str, limits: TextLimits, sizes: tuple[int, int], large_overlap: bool
) -> tuple[str, list[Any]]:
    """The document's text and its chunks (chunking.TextChunk); no text is an error."""
    from llama_workbench.providers.utils.chunking import chunk_document
    from llama_workbench.providers.utils.documents import extract_text

    document = await asyncio.to_thread(extract_text, content, filename)
    chunk = partial(chunk_document, large_overlap=large_overlap)
    pieces = await asyncio.to_thread(chunk, document, limits.spans, *sizes)
    if not pieces:
        raise UnprocessableError(f"{filename}: no text could be extracted from this file.")
    return document.text, pieces


@dataclass(frozen=True)
class _Source:
    """What every chunk of one file shares: its store, ids, tokenizer and indexing time."""

    store: VectorStoreRecord
    file_id: str
    filename: str
    tokenizer: str
    now: int

    def chunk(self, piece: Any, text: str, vector: list[float]) -> EmbeddedChunk:
        """A piece of the file (chunking.TextChunk) with its text (context included) and vector;
        its id is `<file_id>-<index>`, the same in every run (a resumed run relies on it)."""
        chunk_id = f"{self.file_id}-{piece.index}"
        file_id, filename = self.file_id, self.filename
        return EmbeddedChunk(
            content=text,
            chunk_id=chunk_id,
            metadata={"document_id": file_id, "file_id": file_id, "filename": filename},
            chunk_metadata=ChunkMetadata(
                chunk_id=chunk_id,
                document_id=file_id,
                source=filename,
                created_timestamp=self.now,
                chunk_tokenizer=self.tokenizer,
                content_token_count=piece.token_count,
                file_id=file_id,
                filename=filename,
                chunk_index=piece.index,
                start_offset=piece.start,
                end_offset=piece.end,
                page=piece.page,
                page_end=piece.page_end,
            ),
            embedding=vector,
            embedding_model=self.store.embedding_model,
            embedding_dimension=self.store.embedding_dimension,
        )


def _reporter(
    callback: ProgressCallback | None, file_id: str, filename: str, total: int
) -> Callable[[str, int], None]:
    def report(stage: str, done: int) -> None:
        if callback is not None:
            callback(
                IngestProgress(
                    file_id=file_id,
                    filename=filename,
                    stage=stage,
                    chunks_done=done,
                    chunks_total=total,
                )
            )

    return report


async def committed_chunks(
    provider: VectorIOProvider, store_id: str, file_id: str, resume: bool
) -> set[str]:
    """Resuming: the ids of the chunks an interrupted run committed (kept, not indexed again).
    Otherwise a retry (or re-attach) replaces what an earlier attempt left: none are kept."""
    if resume:
        return {c.chunk_id for c in await provider.file_chunks(store_id, file_id)}
    await provider.delete_file_chunks(store_id, file_id)
    return set()
