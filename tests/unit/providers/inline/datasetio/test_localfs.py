"""inline::localfs (datasetio): file formats, folders, saved `datasets`, data: and http URIs, the store."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import http.server
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest

from llama_workbench.apis.datasets.models import Dataset
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import BadRequestError, NotFoundError, ProviderUnavailableError
from llama_workbench.providers.inline.datasetio.localfs import create
from llama_workbench.providers.inline.datasetio.localfs.config import LocalfsDatasetIOConfig
from llama_workbench.storage.config import KVStoreRef, StorageConfig
from llama_workbench.storage.manager import StorageManager
from tests.support.stub_server import free_port

QA = [{"question": "q1", "answer": "a1"}, {"question": "q2", "answer": "a2"}]
PURPOSE = "eval/question-answer"


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[StorageManager]:
    manager = StorageManager(StorageConfig(), tmp_path / "data")
    yield manager
    await manager.close()


@pytest.fixture
async def localfs(storage: StorageManager, tmp_path: Path) -> Any:
    deps = ProviderDeps("localfs", {}, storage, tmp_path / "data")
    return await create(LocalfsDatasetIOConfig(http_timeout_s=5), deps)


def _uri(dataset_id: str, uri: str, purpose: str = PURPOSE) -> Dataset:
    return Dataset.model_validate(
        {
            "identifier": dataset_id,
            "provider_id": "localfs",
            "purpose": purpose,
            "source": {"type": "uri", "uri": uri},
        }
    )


def _inline(dataset_id: str, rows: list[dict[str, Any]]) -> Dataset:
    return Dataset.model_validate(
        {
            "identifier": dataset_id,
            "provider_id": "localfs",
            "purpose": PURPOSE,
            "source": {"type": "rows", "rows": rows},
        }
    )


async def _all(provider: Any, dataset_id: str) -> list[dict[str, Any]]:
    return list((await provider.iterrows(dataset_id)).data)


async def test_json_shapes_and_tsv(localfs: Any, tmp_path: Path) -> None:
    shapes = {
        "list.json": json.dumps(QA),
        "wrapped.json": json.dumps({"version": 2, "rows": QA}),
        "lines.json": "\n".join(json.dumps(r) for r in QA),
        "rows.ndjson": "\n\n".join(json.dumps(r) for r in QA),
        "table.tsv": "question\tanswer\nq1\ta1\nq2\ta2\n",
    }
    for name, text in shapes.items():
        (tmp_path / name).write_text(text)
        await localfs.register_dataset(_uri(name, str(tmp_path / name)))
        assert await _all(localfs, name) == QA, name
    (tmp_path / "scalar.json").write_text("42")
    with pytest.raises(BadRequestError, match=r"must hold a JSON list of row objects .* got a int"):
        await localfs.register_dataset(_uri("s", str(tmp_path / "scalar.json")))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(BadRequestError, match=r"^Dataset 'e': can't read .*empty.csv as csv: "):
        await localfs.register_dataset(_uri("e", str(tmp_path / "empty.csv")))


async def test_parquet_values_become_plain_json(localfs: Any, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "question": ["q"],
            "answer": ["a"],
            "tags": [["x", "y"]],
            "when": [dt.datetime(2024, 5, 1, 12, 30)],
            "score": [float("nan")],
        }
    )
    frame.to_parquet(tmp_path / "typed.parquet")
    await localfs.register_dataset(_uri("typed", str(tmp_path / "typed.parquet")))
    row = (await _all(localfs, "typed"))[0]
    assert row == {
        "question": "q",
        "answer": "a",
        "tags": ["x", "y"],
        "when": "2024-05-01T12:30:00",
        "score": None,
    }
    json.dumps(row)


async def test_saved_dataset_dicts_and_splits(localfs: Any, tmp_path: Path) -> None:
    import datasets

    two = datasets.DatasetDict(
        {"train": datasets.Dataset.from_list(QA), "test": datasets.Dataset.from_list(QA[:1])}
    )
    two.save_to_disk(str(tmp_path / "two"))
    await localfs.register_dataset(_uri("train", str(tmp_path / "two")))
    assert await _all(localfs, "train") == QA
    await localfs.register_dataset(_uri("test", (tmp_path / "two").as_uri() + "?split=test"))
    assert await _all(localfs, "test") == QA[:1]
    with pytest.raises(BadRequestError, match=r"has no split 'dev'; its splits: test, train\."):
        await localfs.register_dataset(_uri("dev", (tmp_path / "two").as_uri() + "?split=dev"))
    no_train = datasets.DatasetDict(
        {"a": datasets.Dataset.from_list(QA), "b": datasets.Dataset.from_list(QA)}
    )
    no_train.save_to_disk(str(tmp_path / "ab"))
    with pytest.raises(BadRequestError, match=r"several splits \(a, b\): pick one with \?split="):
        await localfs.register_dataset(_uri("ab", str(tmp_path / "ab")))


async def test_folders_and_odd_uris(localfs: Any, tmp_path: Path) -> None:
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "empty-folder" / "notes.md").write_text("# nothing")
    with pytest.raises(BadRequestError, match=r"holds no files localfs reads"):
        await localfs.register_dataset(_uri("f", str(tmp_path / "empty-folder")))
    with pytest.raises(BadRequestError, match=r"file:// URIs must be absolute local paths"):
        await localfs.register_dataset(_uri("h", "file://server/share/qa.csv"))
    with pytest.raises(BadRequestError, match=r"not s3://"):
        await localfs.register_dataset(_uri("s3", "s3://bucket/qa.csv"))
    spaced = tmp_path / "with space.csv"
    pd.DataFrame(QA).to_csv(spaced, index=False)
    await localfs.register_dataset(_uri("spaced", spaced.as_uri()))  # percent-encoded path
    assert await _all(localfs, "spaced") == QA


async def test_data_uris(localfs: Any) -> None:
    jsonl = "\n".join(json.dumps(r) for r in QA).encode()
    uris = {
        "b64": "data:application/jsonl;base64," + base64.b64encode(jsonl).decode(),
        "plain": "data:text/csv," + quote("question,answer\nq1,a1\nq2,a2\n"),
    }
    for name, uri in uris.items():
        await localfs.register_dataset(_uri(name, uri))
        assert await _all(localfs, name) == QA
    with pytest.raises(BadRequestError, match=r"needs a media type localfs reads"):
        await localfs.register_dataset(_uri("bad", "data:image/png;base64,AAAA"))
    with pytest.raises(BadRequestError, match=r"not valid base64"):
        await localfs.register_dataset(_uri("bad", "data:text/csv;base64,@@@"))


@pytest.fixture
def web(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "web"
    folder.mkdir()
    (folder / "qa.jsonl").write_text("\n".join(json.dumps(r) for r in QA))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_http_uris(localfs: Any, web: str) -> None:
    await localfs.register_dataset(_uri("web", f"{web}/qa.jsonl"))
    assert await _all(localfs, "web") == QA
    with pytest.raises(BadRequestError, match=r"answered HTTP 404\.$"):
        await localfs.register_dataset(_uri("404", f"{web}/missing.jsonl"))
    with pytest.raises(BadRequestError, match=r"can't tell the format"):
        await localfs.register_dataset(_uri("fmt", f"{web}/download"))
    with pytest.raises(ProviderUnavailableError, match=r"^Provider 'localfs': dataset 'down'"):
        await localfs.register_dataset(_uri("down", f"http://127.0.0.1:{free_port()}/qa.jsonl"))


async def test_the_store_keeps_rows_apart_and_unregister_clears_it(
    localfs: Any, storage: StorageManager
) -> None:
    await localfs.register_dataset(_inline("a", QA))
    await localfs.register_dataset(_inline("a/b", QA[:1]))
    await localfs.append_rows("a", [{"question": "q3", "answer": "a3"}])
    await localfs.append_rows("a/b", [{"question": "q4", "answer": "a4"}])
    assert [r["question"] for r in await _all(localfs, "a")] == ["q1", "q2", "q3"]
    assert [r["question"] for r in await _all(localfs, "a/b")] == ["q1", "q4"]
    kv = await storage.kv(KVStoreRef(backend="kv_default", namespace="datasetio::localfs"))
    assert len(await kv.keys_with_prefix("")) == 6  # 2 seeds, 2 fingerprints, 2 appended batches
    await localfs.register_dataset(_inline("a", QA))  # registered again: appended rows stay
    assert len(await _all(localfs, "a")) == 3
    await localfs.unregister_dataset("a")
    assert sorted(await kv.keys_with_prefix("")) == [
        "rows:a%2Fb/000000000000",
        "rows:a%2Fb/000000000001",
        "source:a%2Fb/",
    ]
    with pytest.raises(
        NotFoundError, match=r"^Dataset 'a' not found\. Available: a/b\. \(in provider 'localfs'\)$"
    ):
        await localfs.iterrows("a")
