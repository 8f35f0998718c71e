"""What the datasetio providers share: datasets by id, rows read from URIs (cached), rows kept in a kv store."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any
from urllib.parse import quote

from llama_workbench.apis.datasetio.models import PaginatedRows, page_bounds
from llama_workbench.apis.datasets.models import (
    Dataset,
    Row,
    RowsDataSource,
    URIDataSource,
    check_purpose,
    rows_from,
)
from llama_workbench.core.errors import BadRequestError, MissingDependencyError, NotFoundError
from llama_workbench.storage.kv import KVStore


def import_optional(module: str, package: str, needed_by: str) -> Any:
    """Import an optional dependency, or say which pip command installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(package, "eval", needed_by=needed_by) from None


def is_saved_dataset(path: Path) -> bool:
    """Whether `path` is a folder written by `datasets`' save_to_disk (a Dataset or DatasetDict)."""
    return path.is_dir() and (
        (path / "state.json").is_file() or (path / "dataset_dict.json").is_file()
    )


def load_saved(path: Path, split: str | None, dataset_id: str, needed_by: str) -> list[Row]:
    """The rows of a save_to_disk folder (one split of a DatasetDict)."""
    datasets = import_optional("datasets", "datasets", needed_by)
    return rows_from(pick_split(datasets.load_from_disk(str(path)), split, dataset_id))


def pick_split(loaded: Any, split: str | None, dataset_id: str) -> Any:
    """A split of a DatasetDict: the one asked for, else 'train', else the only one."""
    if not hasattr(loaded, "keys"):
        return loaded
    splits = sorted(loaded.keys())
    if split is None:
        if "train" in splits or len(splits) == 1:
            split = "train" if "train" in splits else splits[0]
        else:
            raise BadRequestError(
                f"Dataset '{dataset_id}' has several splits ({', '.join(splits)}): "
                "pick one with ?split=<name> in the URI."
            )
    if split not in loaded:
        raise BadRequestError(
            f"Dataset '{dataset_id}' has no split '{split}'; its splits: {', '.join(splits)}."
        )
    return loaded[split]


def _key(kind: str, dataset_id: str) -> str:
    # Quoting keeps one id's keys from being a prefix match of another id's ("a" vs "a/b").
    return f"{kind}:{quote(dataset_id, safe='')}/"


class RowsDatasetIO(ABC):
    """A datasetio provider over rows: a URI's rows (read by the subclass, cached until its
    signature changes) followed by the rows kept in the kv store, a rows source's first.

    Appended rows go to the store as one batch per call: they survive restarts and the
    source file is never rewritten.
    """

    provider_type = ""

    def __init__(self, provider_id: str, kv: KVStore) -> None:
        self.provider_id = provider_id
        self._kv = kv
        self._datasets: dict[str, Dataset] = {}
        self._stored: dict[str, list[Row]] = {}
        self._next_batch: dict[str, int] = {}
        self._read: dict[str, tuple[object, list[Row]]] = {}
        self._lock = asyncio.Lock()

    @abstractmethod
    def _signature(self, dataset_id: str, uri: str) -> object:
        """What changes when the URI's rows do (file mtimes); raises if the rows are gone. Blocking."""

    @abstractmethod
    def _load_uri(self, dataset_id: str, uri: str) -> list[Row]:
        """Every row behind the URI. Blocking (runs in a worker thread)."""

    async def register_dataset(self, dataset: Dataset) -> None:
        dataset_id = dataset.identifier
        source = dataset.source
        if isinstance(source, RowsDataSource):
            check_purpose(dataset_id, dataset.purpose, source.rows)
            await self._seed(dataset_id, source.rows)
        else:
            await self._uri_rows(dataset)
        batches = await self._kv.items_with_prefix(_key("rows", dataset_id))
        self._stored[dataset_id] = [row for _, value in batches for row in json.loads(value)]
        last = int(batches[-1][0].rsplit("/", 1)[1]) if batches else 0
        self._next_batch[dataset_id] = last + 1
        self._datasets[dataset_id] = dataset

    async def unregister_dataset(self, dataset_id: str) -> None:
        async with self._lock:
            for key in await self._kv.keys_with_prefix(_key("rows", dataset_id)):
                await self._kv.delete(key)
            await self._kv.delete(_key("source", dataset_id))
            for cache in (self._datasets, self._stored, self._next_batch, self._read):
                cache.pop(dataset_id, None)

    async def iterrows(
        self, dataset_id: str, start_index: int | None = None, limit: int | None = None
    ) -> PaginatedRows:
        dataset = self._dataset(dataset_id)
        base = await self._uri_rows(dataset)
        stored = self._stored[dataset_id]
        n = len(base)
        start, stop = page_bounds(n + len(stored), start_index, limit)
        data = base[start : min(stop, n)] + stored[max(start - n, 0) : max(stop - n, 0)]
        return PaginatedRows(data=data, has_more=stop < n + len(stored))

    async def append_rows(self, dataset_id: str, rows: list[dict[str, Any]]) -> None:
        dataset = self._dataset(dataset_id)
        new = rows_from(rows)
        check_purpose(dataset_id, dataset.purpose, new, appended=True)
        if not new:
            return
        async with self._lock:
            batch = self._next_batch[dataset_id]
            await self._kv.set(f"{_key('rows', dataset_id)}{batch:012d}", json.dumps(new))
            self._next_batch[dataset_id] = batch + 1
            self._stored[dataset_id].extend(new)

    async def shutdown(self) -> None:
        self._read.clear()

    def _dataset(self, dataset_id: str) -> Dataset:
        dataset = self._datasets.get(dataset_id)
        if dataset is None:
            raise NotFoundError(
                "Dataset", dataset_id, self._datasets, hint=f"(in provider '{self.provider_id}')"
            )
        return dataset

    async def _seed(self, dataset_id: str, rows: list[Row]) -> None:
        """Keep a rows source's rows in the store as batch 0 (again only when they changed)."""
        text = json.dumps(rows, sort_keys=True)
        digest = hashlib.sha256(text.encode()).hexdigest()
        async with self._lock:
            if await self._kv.get(_key("source", dataset_id)) != digest:
                await self._kv.set(f"{_key('rows', dataset_id)}{0:012d}", json.dumps(rows))
                await self._kv.set(_key("source", dataset_id), digest)

    async def _uri_rows(self, dataset: Dataset) -> list[Row]:
        """The rows behind a URI source (re-read and re-checked when the source changed)."""
        if not isinstance(dataset.source, URIDataSource):
            return []
        dataset_id, uri = dataset.identifier, dataset.source.uri
        signature = await asyncio.to_thread(self._signature, dataset_id, uri)
        cached = self._read.get(dataset_id)
        if cached is not None and cached[0] == signature:
            return cached[1]
        rows = await asyncio.to_thread(self._load_uri, dataset_id, uri)
        check_purpose(dataset_id, dataset.purpose, rows)
        self._read[dataset_id] = (signature, rows)
        return rows
