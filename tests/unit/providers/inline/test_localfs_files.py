"""inline::localfs: uploads on disk, metadata in SQLite, pagination, limits, expiry, hostile names."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import BadRequestError, NotFoundError, PayloadTooLargeError
from llama_workbench.providers.inline.files.localfs import create
from llama_workbench.providers.inline.files.localfs.config import LocalfsFilesConfig
from llama_workbench.storage.config import StorageConfig
from llama_workbench.storage.manager import StorageManager


async def _open(data_dir: Path, **config: Any) -> Any:
    storage = StorageManager(StorageConfig(), data_dir)
    impl = await create(LocalfsFilesConfig(**config), ProviderDeps("fs", {}, storage, data_dir))
    impl.storage_manager = storage
    return impl


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[Any]:
    impl = await _open(tmp_path, max_file_size_bytes=1000)
    yield impl
    await impl.storage_manager.close()


async def test_upload_read_delete(files: Any, tmp_path: Path) -> None:
    made = await files.upload_file(b"hello", "assistants", "notes.txt")
    assert (made.filename, made.bytes, made.purpose) == ("notes.txt", 5, "assistants")
    assert await files.retrieve_file_content(made.id) == b"hello"
    assert (tmp_path / "files" / made.id).read_bytes() == b"hello"
    assert (await files.delete_file(made.id)).deleted
    assert not (tmp_path / "files" / made.id).exists()
    with pytest.raises(NotFoundError):
        await files.retrieve_file(made.id)


async def test_upload_from_a_path_and_hostile_names(files: Any, tmp_path: Path) -> None:
    source = tmp_path / "report.md"
    source.write_text("# Report")
    assert (await files.upload_file(str(source))).filename == "report.md"
    sneaky = await files.upload_file(b"x", "assistants", "..\\..\\windows/../../etc/passwd")
    assert sneaky.filename == "passwd"
    for bad_id in ("../kvstore.db", "file-../../x", "file-a/b"):
        with pytest.raises(NotFoundError):
            await files.retrieve_file_content(bad_id)
    with pytest.raises(BadRequestError, match="not a file"):
        await files.upload_file(str(tmp_path / "missing.pdf"))


async def test_limits_and_bad_purposes_lose_nothing(files: Any) -> None:
    kept = await files.upload_file(b"keep", "assistants", "keep.txt")
    with pytest.raises(PayloadTooLargeError, match="1000"):
        await files.upload_file(b"x" * 1001, "assistants", "big.bin")
    with pytest.raises(BadRequestError, match="purpose"):
        await files.upload_file(b"x", "homework", "a.txt")
    listed = await files.list_files()
    assert [f.id for f in listed.data] == [kept.id]


async def test_pagination_and_purpose_filter(files: Any) -> None:
    made = []
    for i in range(5):
        made.append(await files.upload_file(b"x", "batch" if i % 2 else "assistants", f"{i}.txt"))
    first = await files.list_files(limit=2, order="asc")
    second = await files.list_files(limit=2, order="asc", after=first.last_id)
    third = await files.list_files(limit=2, order="asc", after=second.last_id)
    ids = [f.id for page in (first, second, third) for f in page.data]
    assert sorted(ids) == sorted(f.id for f in made) and len(set(ids)) == 5
    assert first.has_more and second.has_more and not third.has_more
    batch = await files.list_files(purpose="batch")
    assert {f.filename for f in batch.data} == {"1.txt", "3.txt"}
    with pytest.raises(NotFoundError):
        await files.list_files(after="file-0")


async def test_expired_files_disappear(files: Any) -> None:
    made = await files.upload_file(
        b"x", "assistants", "short.txt", {"anchor": "created_at", "seconds": 3600}
    )
    assert made.expires_at == made.created_at + 3600
    row = {"expires_at": int(time.time()) - 1}
    await (await files._store()).update("files_metadata", row, {"id": made.id})
    with pytest.raises(NotFoundError):
        await files.retrieve_file(made.id)
    assert (await files.list_files()).data == []


async def test_metadata_survives_a_restart(tmp_path: Path) -> None:
    first = await _open(tmp_path)
    made = await first.upload_file(b"persist", "assistants", "p.txt")
    await first.storage_manager.close()
    again = await _open(tmp_path)
    assert (await again.retrieve_file(made.id)).filename == "p.txt"
    assert await again.retrieve_file_content(made.id) == b"persist"
    await again.storage_manager.close()
