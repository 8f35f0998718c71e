"""Datasets from local paths and file:// URIs (files, folders, saved `datasets`), data: and http(s)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from llama_workbench.apis.datasets.models import Row
from llama_workbench.core.errors import BadRequestError, ProviderUnavailableError
from llama_workbench.providers.inline.datasetio.localfs import readers
from llama_workbench.providers.inline.datasetio.localfs.config import LocalfsDatasetIOConfig
from llama_workbench.providers.inline.datasetio.localfs.rows import (
    RowsDatasetIO,
    is_saved_dataset,
    load_saved,
)
from llama_workbench.storage.kv import KVStore

_UNCHANGING = "unchanging"  # data: URIs never change; http(s) ones are read once per process


class LocalfsDatasetIO(RowsDatasetIO):
    """inline::localfs: rows from local files, folders, data: and http(s) URIs, or inline rows."""

    provider_type = "inline::localfs"

    def __init__(self, provider_id: str, config: LocalfsDatasetIOConfig, kv: KVStore) -> None:
        super().__init__(provider_id, kv)
        self._config = config

    def _signature(self, dataset_id: str, uri: str) -> object:
        scheme = urlparse(uri).scheme
        if scheme in ("data", "http", "https"):
            return _UNCHANGING
        path, _ = _local(uri, dataset_id)
        if not path.exists():
            raise BadRequestError(
                f"Dataset '{dataset_id}': {path} does not exist. Restore it, or register the "
                "dataset again with the right path (relative paths are resolved against the "
                "working directory at registration)."
            )
        if path.is_file():
            stat = path.stat()
            return (stat.st_mtime_ns, stat.st_size)
        return tuple(
            (str(p), p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(path.rglob("*"))
            if p.is_file()
        )

    def _load_uri(self, dataset_id: str, uri: str) -> list[Row]:
        scheme = urlparse(uri).scheme
        if scheme == "data":
            return readers.read_data_uri(uri, dataset_id)
        if scheme in ("http", "https"):
            return self._download(uri, dataset_id)
        path, split = _local(uri, dataset_id)
        if is_saved_dataset(path):
            return load_saved(path, split, dataset_id, self.provider_type)
        if path.is_dir():
            return readers.read_folder(path, dataset_id)
        return readers.read_file(path, dataset_id)

    def _download(self, uri: str, dataset_id: str) -> list[Row]:
        import httpx

        fmt = readers.format_of(urlparse(uri).path)
        if fmt is None:
            raise BadRequestError(
                f"Dataset '{dataset_id}': can't tell the format of {uri}; the URL's path must end "
                "in .csv, .tsv, .jsonl, .json or .parquet."
            )
        try:
            response = httpx.get(uri, follow_redirects=True, timeout=self._config.http_timeout_s)
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(
                self.provider_id, f"dataset '{dataset_id}': can't fetch {uri}: {exc}"
            ) from exc
        if response.status_code >= 400:
            raise BadRequestError(
                f"Dataset '{dataset_id}': {uri} answered HTTP {response.status_code}."
            )
        return readers.parse(response.content, fmt, uri, dataset_id)


def _local(uri: str, dataset_id: str) -> tuple[Path, str | None]:
    """The path of a local path or file:// URI, and the ?split= of a file:// URI."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise BadRequestError(
                f"Dataset '{dataset_id}': {uri} names host '{parsed.netloc}'; file:// URIs must "
                "be absolute local paths like file:///data/qa.jsonl."
            )
        split = parse_qs(parsed.query).get("split", [None])[0]
        return Path(unquote(parsed.path)), split
    if parsed.scheme:
        raise BadRequestError(
            f"Dataset '{dataset_id}': inline::localfs reads local paths, file://, data: and "
            f"http(s):// URIs, not {parsed.scheme}://. For hf:// or huggingface:// URIs use a "
            "remote::huggingface provider."
        )
    return Path(uri).expanduser(), None
