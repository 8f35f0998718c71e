"""Datasets through `datasets.load_dataset`: hf://<hub id or path>?split=...&name=... URIs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from llama_workbench.apis.datasets.models import Row, rows_from
from llama_workbench.core.errors import BadRequestError, ProviderUnavailableError
from llama_workbench.providers.inline.datasetio.localfs.rows import (
    RowsDatasetIO,
    import_optional,
    is_saved_dataset,
    load_saved,
    pick_split,
)
from llama_workbench.providers.remote.datasetio.huggingface.config import (
    HuggingfaceDatasetIOConfig,
)
from llama_workbench.storage.kv import KVStore

SCHEMES = ("hf", "huggingface")
PARAMS = ("split", "name", "revision", "data_dir", "data_files")  # what a URI's query may set


class HuggingfaceDatasetIO(RowsDatasetIO):
    """remote::huggingface: hub datasets (from the cache when offline), local dataset paths."""

    provider_type = "remote::huggingface"

    def __init__(self, provider_id: str, config: HuggingfaceDatasetIOConfig, kv: KVStore) -> None:
        super().__init__(provider_id, kv)
        self._config = config

    def _signature(self, dataset_id: str, uri: str) -> object:
        path, _ = parse_hf_uri(uri, dataset_id)
        local = Path(path).expanduser()
        if not local.exists():
            return path  # a hub dataset: a given revision does not change under us
        return tuple(
            (str(p), p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted([local, *local.rglob("*")])
            if p.is_file()
        )

    def _load_uri(self, dataset_id: str, uri: str) -> list[Row]:
        path, params = parse_hf_uri(uri, dataset_id)
        split = params.pop("split", None)
        local = Path(path).expanduser()
        if is_saved_dataset(local):
            return load_saved(local, split, dataset_id, self.provider_type)
        datasets = self._datasets_module()
        target = str(local) if local.exists() else path
        try:
            loaded = datasets.load_dataset(
                target, split=split, cache_dir=self._config.cache_dir, **params
            )
        except (ConnectionError, FileNotFoundError) as exc:
            raise self._unreachable(dataset_id, path, exc) from exc
        except ValueError as exc:  # unknown split or config name, unreadable files
            raise BadRequestError(f"Dataset '{dataset_id}': can't load '{path}': {exc}") from exc
        return rows_from(pick_split(loaded, None, dataset_id))

    def _datasets_module(self) -> Any:
        """The `datasets` module, switched to offline mode when the config says so."""
        if self._config.offline:
            os.environ["HF_DATASETS_OFFLINE"] = "1"
            os.environ["HF_HUB_OFFLINE"] = "1"
        datasets = import_optional("datasets", "datasets", self.provider_type)
        if self._config.offline and not datasets.config.HF_HUB_OFFLINE:
            # Imported earlier without the variables: both libraries read them at import time.
            import huggingface_hub.constants

            datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = True
            huggingface_hub.constants.HF_HUB_OFFLINE = True
        return datasets

    def _unreachable(self, dataset_id: str, path: str, exc: Exception) -> Exception:
        local_hint = (
            "To use a dataset on this machine, pass its local path: a folder written by "
            "Dataset.save_to_disk(...) or a folder of data files, as hf:///absolute/path "
            "(or a local path / file:// URI with an inline::localfs provider)."
        )
        if self._config.offline:
            return ProviderUnavailableError(
                self.provider_id,
                f"dataset '{dataset_id}': '{path}' is not a local path and this provider is "
                "offline (offline: true in its config), so it can load Hub datasets only from "
                f"the local cache, where '{path}' is not. {local_hint}",
            )
        if isinstance(exc, FileNotFoundError):
            return BadRequestError(
                f"Dataset '{dataset_id}': '{path}' is neither a local path nor a dataset on the "
                f"Hugging Face Hub ({exc})."
            )
        return ProviderUnavailableError(
            self.provider_id,
            f"dataset '{dataset_id}': can't reach the Hugging Face Hub for '{path}' ({exc}). "
            + local_hint,
        )


def parse_hf_uri(uri: str, dataset_id: str) -> tuple[str, dict[str, str]]:
    """(path or hub id, query parameters) of hf://<path>?split=...&name=... .

    Llama Stack's huggingface://datasets/<org>/<name> form works too.
    """
    parsed = urlparse(uri)
    if parsed.scheme not in SCHEMES:
        raise BadRequestError(
            f"Dataset '{dataset_id}': remote::huggingface takes hf://<dataset> or "
            f"huggingface://<dataset> URIs (a hub id or a local path), not '{uri}'."
        )
    path = parsed.netloc + parsed.path
    if parsed.netloc == "datasets" and not Path(path).exists():
        path = parsed.path.lstrip("/")
    if not path:
        raise BadRequestError(f"Dataset '{dataset_id}': the URI '{uri}' names no dataset.")
    params = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise BadRequestError(
            f"Dataset '{dataset_id}': unknown URI parameter(s) {', '.join(unknown)}; "
            f"hf:// URIs take {', '.join(PARAMS)}."
        )
    return path, params
