"""remote::huggingface (datasetio): hf:// URIs, local saved datasets and data folders, offline hub ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from llama_workbench.apis.datasets.models import Dataset
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import BadRequestError, ProviderUnavailableError
from llama_workbench.providers.remote.datasetio.huggingface import create
from llama_workbench.providers.remote.datasetio.huggingface.config import (
    HuggingfaceDatasetIOConfig,
)
from llama_workbench.providers.remote.datasetio.huggingface.impl import parse_hf_uri
from llama_workbench.storage.config import StorageConfig
from llama_workbench.storage.manager import StorageManager

QA = [{"question": "q1", "answer": "a1"}, {"question": "q2", "answer": "a2"}]


@pytest.fixture
async def hf(tmp_path: Path) -> AsyncIterator[Any]:
    storage = StorageManager(StorageConfig(), tmp_path / "data")
    config = HuggingfaceDatasetIOConfig(cache_dir=str(tmp_path / "hf-cache"))
    yield await create(config, ProviderDeps("hf", {}, storage, tmp_path / "data"))
    await storage.close()


def _dataset(dataset_id: str, uri: str) -> Dataset:
    return Dataset.model_validate(
        {
            "identifier": dataset_id,
            "provider_id": "hf",
            "purpose": "eval/question-answer",
            "source": {"type": "uri", "uri": uri},
        }
    )


async def _all(provider: Any, dataset_id: str) -> list[dict[str, Any]]:
    return list((await provider.iterrows(dataset_id)).data)


def test_uris() -> None:
    assert parse_hf_uri("hf://org/name", "d") == ("org/name", {})
    assert parse_hf_uri("huggingface://datasets/llamastack/simpleqa?split=train", "d") == (
        "llamastack/simpleqa",
        {"split": "train"},
    )
    assert parse_hf_uri("hf:///data/saved?split=test&name=main", "d") == (
        "/data/saved",
        {"split": "test", "name": "main"},
    )
    with pytest.raises(BadRequestError, match=r"unknown URI parameter\(s\) cache_dir, token;"):
        parse_hf_uri("hf://org/name?token=x&cache_dir=/etc", "d")
    with pytest.raises(BadRequestError, match=r"takes hf://<dataset> or huggingface://<dataset>"):
        parse_hf_uri("s3://bucket/x", "d")
    with pytest.raises(BadRequestError, match=r"names no dataset"):
        parse_hf_uri("hf://", "d")


async def test_local_saved_datasets(hf: Any, tmp_path: Path) -> None:
    import datasets

    datasets.Dataset.from_list(QA).save_to_disk(str(tmp_path / "one"))
    await hf.register_dataset(_dataset("one", f"hf://{tmp_path / 'one'}"))
    assert await _all(hf, "one") == QA
    splits = datasets.DatasetDict(
        {"train": datasets.Dataset.from_list(QA), "test": datasets.Dataset.from_list(QA[1:])}
    )
    splits.save_to_disk(str(tmp_path / "splits"))
    await hf.register_dataset(_dataset("test", f"huggingface://{tmp_path / 'splits'}?split=test"))
    assert await _all(hf, "test") == QA[1:]
    await hf.append_rows("test", [{"question": "q3", "answer": "a3"}])
    assert [r["question"] for r in await _all(hf, "test")] == ["q2", "q3"]


async def test_a_local_folder_of_data_files(hf: Any, tmp_path: Path) -> None:
    folder = tmp_path / "csvs"
    folder.mkdir()
    pd.DataFrame(QA).to_csv(folder / "train.csv", index=False)
    await hf.register_dataset(_dataset("csvs", f"hf://{folder}?split=train"))
    assert await _all(hf, "csvs") == QA
    with pytest.raises(BadRequestError, match=r"^Dataset 'bad': can't load .*Unknown split"):
        await hf.register_dataset(_dataset("bad", f"hf://{folder}?split=validation"))


async def test_hub_ids_offline(hf: Any) -> None:
    with pytest.raises(ProviderUnavailableError) as caught:
        await hf.register_dataset(_dataset("hub", "hf://nobody/missing-dataset"))
    assert caught.value.message.startswith(
        "Provider 'hf': dataset 'hub': 'nobody/missing-dataset' is not a local path and this "
        "provider is offline (offline: true in its config), so it can load Hub datasets only "
        "from the local cache, where 'nobody/missing-dataset' is not. To use a dataset on this "
        "machine, pass its local path"
    )
