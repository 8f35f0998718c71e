"""`RAGExplorer`: a stack's vector stores, their files, and ranked search results."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import traitlets

from llama_workbench.core.errors import BadRequestError, NotFoundError
from llama_workbench.jupyter.widgets._base import JS_DIR, StackWidget, short

if TYPE_CHECKING:
    from llama_workbench.apis.vector_io.models import SearchMode
    from llama_workbench.core.stack import Stack

MODES = ("vector", "keyword", "hybrid")
_LIMIT = 100  # stores and files listed (the API pages at 100)


class RAGExplorer(StackWidget):
    """Browse vector stores (counts), a store's files (status, errors), and search it.

    Pick a store with `select(store_id)` (or set `store_id`); `search(query, mode, top_k)` ranks
    chunks with their score, filename, page and text in `results`. Both run in the background.
    """

    _esm = JS_DIR / "rag.js"
    _css = JS_DIR / "rag.css"
    _actions = {"refresh": "refresh", "select": "select", "search": "search"}

    stores = traitlets.List(traitlets.Dict()).tag(sync=True)
    store_id = traitlets.Unicode("").tag(sync=True)
    files = traitlets.List(traitlets.Dict()).tag(sync=True)
    query = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Enum(MODES, "vector").tag(sync=True)
    top_k = traitlets.Int(5, min=1, max=50).tag(sync=True)
    results = traitlets.List(traitlets.Dict()).tag(sync=True)
    searched = traitlets.Dict().tag(sync=True)  # {query, mode, store_id} of `results`

    def __init__(self, stack: Stack, store: str | None = None) -> None:
        self._quiet = False
        if "vector_io" not in {a.value for a in stack.apis}:
            raise BadRequestError("This stack has no vector_io API: add a vector_io provider.")
        super().__init__(stack)
        # The first listing happens here, so the widget (and its text form) starts filled in.
        self._load(store)

    # -- actions

    def refresh(self) -> None:
        """Reload the stores and the selected store's files."""
        self.error = ""
        self._submit(lambda: self._load(self.store_id or None))

    def select(self, store_id: str) -> None:
        """Show the files of a store (its id or its name)."""
        self.error = ""
        resolved = self._resolve(store_id)
        if resolved == self.store_id:
            self._submit(lambda: self._load_files(resolved))
        self.store_id = resolved  # a change: the observer loads the files

    def search(
        self, query: str | None = None, mode: str | None = None, top_k: int | None = None
    ) -> None:
        """Search the selected store; results arrive in `results` (`wait()` blocks until then)."""
        if query is not None:
            self.query = query
        if mode is not None:
            self.mode = mode
        if top_k is not None:
            self.top_k = int(top_k)
        if not self.store_id:
            raise BadRequestError("Select a vector store first.")
        if not self.query.strip():
            raise BadRequestError("Type a query first.")
        self.error = ""
        asked = {"query": self.query.strip(), "mode": self.mode, "store_id": self.store_id}
        top_k = self.top_k
        self._submit(lambda: self._search(asked, top_k))

    # -- loading (the worker thread, or the constructor)

    @traitlets.observe("store_id")
    def _store_changed(self, change: Any) -> None:
        if not self._quiet:
            self.files, self.results, self.searched = [], [], {}
            self._submit(lambda: self._load_files(change["new"]))

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _load(self, wanted: str | None) -> None:
        stores = self._stack.vector_io.list_vector_stores(limit=_LIMIT).data
        self.stores = [_store_row(s) for s in stores]
        ids = [s["id"] for s in self.stores]
        selected = self._resolve(wanted) if wanted else (ids[0] if ids else "")
        with self._quietly():
            self.store_id = selected
        self._load_files(selected)

    def _load_files(self, store_id: str) -> None:
        if not store_id:
            self.files = []
            return
        page = self._stack.vector_io.list_vector_store_files(store_id, limit=_LIMIT)
        rows = [_file_row(f, self._filename(f.id)) for f in page.data]
        if store_id == self.store_id:  # the user may have picked another store meanwhile
            self.files = rows

    def _filename(self, file_id: str) -> str:
        if "files" not in {a.value for a in self._stack.apis}:
            return file_id
        try:
            return str(self._stack.files.retrieve_file(file_id).filename)
        except NotFoundError:
            return f"{file_id} (deleted)"

    def _search(self, asked: dict[str, str], top_k: int) -> None:
        page = self._stack.vector_io.search_vector_store(
            asked["store_id"],
            asked["query"],
            max_num_results=top_k,
            search_mode=cast("SearchMode", asked["mode"]),  # one of MODES: the trait checks it
        )
        self.results = [_result_row(rank, r) for rank, r in enumerate(page.data, start=1)]
        self.searched = asked

    def _resolve(self, store: str) -> str:
        for row in self.stores:
            if store in (row["id"], row["name"]):
                return str(row["id"])
        raise NotFoundError("Vector store", store, [s["id"] for s in self.stores])

    # -- text form

    def summary(self) -> str:
        lines = [f"RAGExplorer: {len(self.stores)} vector stores"]
        for s in self.stores:
            mark = "*" if s["id"] == self.store_id else " "
            lines.append(
                f" {mark} {s['name'] or '(unnamed)'} ({s['id']}): {s['completed']}/{s['total']} "
                f"files indexed, {s['failed']} failed, {s['in_progress']} in progress"
            )
        for f in self.files:
            error = f" - {f['error']}" if f["error"] else ""
            lines.append(f"    {f['filename']}: {f['status']}{error}")
        if self.searched:
            lines.append(
                f"  search {self.searched['query']!r} ({self.searched['mode']}): "
                f"{len(self.results)} results"
            )
            for r in self.results:
                page = _pages(r["page"], r["page_end"])
                lines.append(
                    f"    {r['rank']}. {r['score']:.3f} {r['filename']}{page}: {short(r['text'])}"
                )
        return "\n".join(lines)


def _store_row(store: Any) -> dict[str, Any]:
    counts = store.file_counts
    return {
        "id": store.id,
        "name": store.name or "",
        "completed": counts.completed,
        "failed": counts.failed,
        "in_progress": counts.in_progress,
        "total": counts.total,
        "provider_id": str(store.metadata.get("provider_id", "")),
        "embedding_model": str(store.metadata.get("embedding_model", "")),
    }


def _file_row(f: Any, filename: str) -> dict[str, Any]:
    return {
        "id": f.id,
        "filename": filename,
        "status": f.status,
        "error": f.last_error.message if f.last_error else "",
        "error_code": f.last_error.code if f.last_error else "",
    }


def _result_row(rank: int, result: Any) -> dict[str, Any]:
    first = result.content[0] if result.content else None
    meta = first.chunk_metadata if first is not None else None
    return {
        "rank": rank,
        "file_id": result.file_id,
        "filename": result.filename,
        "score": float(result.score),
        "page": meta.page if meta is not None else None,
        "page_end": meta.page_end if meta is not None else None,
        "text": "\n".join(c.text for c in result.content),
    }


def _pages(first: int | None, last: int | None) -> str:
    if first is None:
        return ""
    return f" p.{first}" if last in (None, first) else f" p.{first}-{last}"
