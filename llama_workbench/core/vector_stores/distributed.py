"""Bulk ingestion on Ray Data: parse -> chunk -> embed on the workers, insert from the driver.

Each worker builds a stack with the store's embedding model (loaded once per actor) and returns
a file's chunks with their vectors; the driver indexes them into the store's provider, so the
store holds what the in-process ingestion of the same files would hold."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.vector_io.models import ChunkingStrategyContextual
from llama_workbench.core.errors import UnprocessableError
from llama_workbench.core.vector_stores.ingest import (
    TextLimits,
    _parsed,
    _reporter,
    _Source,
    chunk_sizes,
    committed_chunks,
)

if TYPE_CHECKING:
    from llama_workbench.apis.vector_io.api import ProgressCallback
    from llama_workbench.core.vector_stores.files import FileIngestion
    from llama_workbench.core.vector_stores.records import FileRecord
    from llama_workbench.execution.engine import ExecutionEngine

_HANDLER = "llama_workbench.core.vector_stores.distributed:embed_file"


def runs_on_ray(engine: ExecutionEngine | None, entries: list[FileRecord]) -> bool:
    """Ray ingests a batch when the engine is Ray and no file asks for contextual chunking
    (its LLM calls go through the driver's inference; such a batch runs in-process)."""
    return (
        engine is not None
        and engine.is_ray
        and bool(entries)
        and not any(
            isinstance(e.file.chunking_strategy, ChunkingStrategyContextual) for e in entries
        )
    )


async def embed_file(stack: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """A worker's half: the file's chunks (as the in-process path cuts them) and their vectors."""
    from llama_workbench.apis.inference.models import EmbeddingsRequest
    from llama_workbench.providers.utils.chunking import hf_token_spans, word_token_spans

    inference = stack.impl("inference")
    model = payload["model"]
    tokenizer, limit = await inference.tokenizer_info(model)
    spans = word_token_spans if tokenizer is None else hf_token_spans(tokenizer)
    limits = TextLimits(spans, "words" if tokenizer is None else model, limit)
    content = base64.b64decode(payload["content"])
    try:
        _, pieces = await _parsed(
            content, payload["filename"], limits, tuple(payload["sizes"]), False
        )
    except UnprocessableError as exc:
        return {"error": str(exc)}
    skip = set(payload["present"])
    todo = [p for p in pieces if p.index not in skip]
    vectors: list[list[float]] = []
    size = payload["batch_size"]
    for start in range(0, len(todo), size):
        texts = [p.text for p in todo[start : start + size]]
        response = await inference.embeddings(EmbeddingsRequest(model=model, input=texts))
        vectors += [d.embedding for d in sorted(response.data, key=lambda d: d.index)]
    return {
        "total": len(pieces),
        "text_bytes": sum(len(p.text.encode()) for p in pieces),
        "pieces": [
            {
                "index": p.index,
                "text": p.text,
                "token_count": p.token_count,
                "start": p.start,
                "end": p.end,
                "page": p.page,
                "page_end": p.page_end,
            }
            for p in todo
        ],
        "vectors": vectors,
    }


async def ingest_on_ray(
    files: FileIngestion,
    engine: ExecutionEngine,
    entries: list[FileRecord],
    batch_id: str,
    on_progress: ProgressCallback | None,
    resume: bool,
    cancelled: Callable[[], Awaitable[bool]],
) -> None:
    """Index a file batch's files on Ray; each file is stored (and shown completed) as it returns.

    Files still running when the batch is cancelled end cancelled, their chunks removed."""
    from llama_workbench.execution.rows import run_rows_on_ray

    items, state = [], {}
    models = set()
    for index, entry in enumerate(entries):
        record = files.catalog.store(entry.file.vector_store_id)
        provider = files.catalog.provider(record)
        entry = entry.model_copy(update={"batch_id": batch_id})
        await files.catalog.records.put_file(entry)
        present = await committed_chunks(provider, record.identifier, entry.file.id, resume)
        limits = await files.catalog.text_limits(record.embedding_model)
        content = await files.files_api().retrieve_file_content(entry.file.id)
        state[index] = (entry, record, provider, present, limits)
        models.add(record.embedding_model)
        present_index = sorted(int(c.rsplit("-", 1)[1]) for c in present)
        items.append(
            (index, {"model": record.embedding_model, "filename": entry.filename,
                     "content": base64.b64encode(content).decode(), "present": present_index,
                     "sizes": list(chunk_sizes(entry.file.chunking_strategy, limits)),
                     "batch_size": files.catalog.config.embedding_batch_size})
        )  # fmt: skip
    done: set[int] = set()

    async def finished(index: int, result: dict[str, Any]) -> None:
        entry, record, provider, _present, limits = state[index]
        done.add(index)
        if "error" in result:
            await files.failed(provider, record, entry, UnprocessableError(result["error"]), None)
            return
        source = _Source(record, entry.file.id, entry.filename, limits.tokenizer_name, _now())
        chunks = [
            source.chunk(SimpleNamespace(**piece), piece["text"], vector)
            for piece, vector in zip(result["pieces"], result["vectors"], strict=True)
        ]
        size = files.catalog.config.embedding_batch_size
        for start in range(0, len(chunks), size):
            await provider.add_chunks(record.identifier, chunks[start : start + size])
        report = _reporter(on_progress, entry.file.id, entry.filename, result["total"])
        report("completed", result["total"])
        entry.chunks = result["total"]
        vectors_bytes = 4 * record.embedding_dimension * result["total"]
        entry.file.usage_bytes = result["text_bytes"] + vectors_bytes
        await files.finish(entry, "completed", None)

    resolved = [await files.catalog.models.resolve(m) for m in sorted(models)]
    stack = engine.worker_stack(resolved)
    work = asyncio.ensure_future(run_rows_on_ray(engine, stack, _HANDLER, items, finished))
    watcher = asyncio.ensure_future(_watch(cancelled, work))
    failure: Exception | None = None
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await work
    except Exception as exc:  # a worker failed: the files not back yet fail with its message
        failure = exc
    finally:
        watcher.cancel()
    for index, (entry, record, provider, _, _) in state.items():
        if index in done:
            continue
        if failure is not None:
            await files.failed(provider, record, entry, failure, on_progress)
        else:  # cancelled before its file came back
            await provider.delete_file_chunks(record.identifier, entry.file.id)
            await files.finish(entry, "cancelled", None)


async def _watch(cancelled: Callable[[], Awaitable[bool]], work: asyncio.Future[Any]) -> None:
    while not work.done():
        await asyncio.sleep(0.2)
        if await cancelled():
            work.cancel()
            return


def _now() -> int:
    import time

    return int(time.time())
