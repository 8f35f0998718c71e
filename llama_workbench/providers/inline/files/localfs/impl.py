"""Files on the local disk: bytes under `storage_dir/<file id>`, metadata rows in a SQL store."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from llama_workbench.apis.files.models import (
    ExpiresAfter,
    FileDeleteResponse,
    FileObject,
    FilePurpose,
    ListFilesResponse,
)
from llama_workbench.core.access import (
    FILE,
    can_access,
    check_access,
    check_create,
    owner_for_new_resource,
)
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import (
    BadRequestError,
    NotFoundError,
    PayloadTooLargeError,
    StorageError,
)
from llama_workbench.providers.inline.files.localfs.config import LocalfsFilesConfig
from llama_workbench.storage.sql import ColumnDefinition, ColumnType, SqlStore

_SCHEMA: dict[str, ColumnType | ColumnDefinition] = {
    "id": ColumnDefinition(ColumnType.STRING, primary_key=True, nullable=False),
    "filename": ColumnType.TEXT,
    "purpose": ColumnType.STRING,
    "bytes": ColumnType.INTEGER,
    "created_at": ColumnType.INTEGER,
    "expires_at": ColumnType.INTEGER,
    "owner": ColumnType.STRING,
}


class LocalfsFiles:
    """The Files API over a folder. File names are metadata only: bytes live under the file id."""

    def __init__(self, config: LocalfsFilesConfig, deps: ProviderDeps) -> None:
        self._config = config
        self._deps = deps
        self._table = config.metadata_store.table_name
        base = Path(config.storage_dir or "files").expanduser()
        self.storage_dir = base if base.is_absolute() else deps.data_dir / base
        self._sql: SqlStore | None = None
        self._open_lock = asyncio.Lock()

    async def initialize(self) -> None:
        self.storage_dir.mkdir(parents=True, exist_ok=True)

    async def _store(self) -> SqlStore:
        # Opened on first use: a stack that never touches files never loads the SQL layer.
        if self._sql is None:
            async with self._open_lock:
                if self._sql is None:
                    sql = await self._deps.storage.sql(self._config.metadata_store)
                    await sql.create_table(self._table, _SCHEMA)
                    self._sql = sql
        return self._sql

    async def upload_file(
        self,
        file: bytes | str,
        purpose: FilePurpose | str = FilePurpose.assistants,
        filename: str | None = None,
        expires_after: ExpiresAfter | None = None,
    ) -> FileObject:
        content, name = await _read_input(file, filename)
        limit = self._config.max_file_size_bytes
        if len(content) > limit:
            raise PayloadTooLargeError(
                f"File '{name}' is {len(content)} bytes; this stack accepts at most {limit} "
                "(files.max_file_size_bytes in the run config)."
            )
        purpose = _purpose(purpose)
        if isinstance(expires_after, dict):
            expires_after = ExpiresAfter.model_validate(expires_after)
        now = int(time.time())
        file_id = f"file-{uuid.uuid4().hex}"
        check_create(FILE, file_id)
        await self._put_bytes(file_id, content)
        row = {
            "id": file_id,
            "filename": name,
            "purpose": purpose.value,
            "bytes": len(content),
            "created_at": now,
            "expires_at": now + expires_after.seconds if expires_after else None,
            "owner": owner_for_new_resource(),
        }
        try:
            await (await self._store()).insert(self._table, row)
        except BaseException:
            await self._remove_bytes(file_id)
            raise
        return _object(row)

    async def list_files(
        self,
        after: str | None = None,
        limit: int = 10000,
        order: Literal["asc", "desc"] = "desc",
        purpose: FilePurpose | str | None = None,
    ) -> ListFilesResponse:
        if not 1 <= limit <= 10000:
            raise BadRequestError(f"limit must be between 1 and 10000, got {limit}.")
        if after is not None:
            await self._row(after)  # a clear 404 for an unknown cursor
        where = {"purpose": _purpose(purpose).value} if purpose is not None else None
        await self._expire()
        rows: list[dict[str, Any]] = []
        cursor = ("id", after) if after else None
        has_more = True
        # Pages are filtered for access after the query, so read until `limit` visible rows.
        while has_more and len(rows) < limit:
            page = await (await self._store()).fetch_all(
                self._table, where, [("created_at", order)], limit - len(rows), cursor
            )
            visible = [r for r in page.data if can_access(r["owner"], FILE, r["id"])]
            rows.extend(visible)
            has_more = page.has_more
            if page.data:
                cursor = ("id", page.data[-1]["id"])
        data = [_object(r) for r in rows]
        return ListFilesResponse(
            data=data,
            has_more=has_more,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
        )

    async def retrieve_file(self, file_id: str) -> FileObject:
        return _object(await self._row(file_id))

    async def retrieve_file_content(self, file_id: str) -> bytes:
        await self._row(file_id)
        return await self._get_bytes(file_id)

    async def delete_file(self, file_id: str) -> FileDeleteResponse:
        row = await self._row(file_id)
        check_access(row["owner"], FILE, file_id, "delete")
        await (await self._store()).delete(self._table, {"id": file_id})
        await self._remove_bytes(file_id)
        return FileDeleteResponse(id=file_id)

    async def shutdown(self) -> None:
        return None

    # -- where the bytes live (remote::s3 keeps them in a bucket instead)

    async def _put_bytes(self, file_id: str, content: bytes) -> None:
        await asyncio.to_thread(_write_atomic, self._path(file_id), content)

    async def _get_bytes(self, file_id: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(file_id).read_bytes)
        except FileNotFoundError:
            raise StorageError(
                f"File '{file_id}' is registered but its bytes are missing from {self.storage_dir}."
            ) from None

    async def _remove_bytes(self, file_id: str) -> None:
        self._path(file_id).unlink(missing_ok=True)

    # -- internals

    def _path(self, file_id: str) -> Path:
        # Ids are ours ("file-" + hex); anything else never reaches the disk.
        if not (file_id.startswith("file-") and file_id[5:].isalnum()):
            raise NotFoundError("File", file_id, list_command="files.list()")
        return self.storage_dir / file_id

    async def _row(self, file_id: str) -> dict[str, Any]:
        self._path(file_id)
        row = await (await self._store()).fetch_one(self._table, {"id": file_id})
        if row is None or not can_access(row["owner"], FILE, file_id) or _expired(row):
            raise NotFoundError("File", file_id, list_command="files.list()")
        return row

    async def _expire(self) -> None:
        """Delete files past their expiry (checked when files are listed)."""
        now = int(time.time())
        page = await (await self._store()).fetch_all(self._table)
        for row in page.data:
            if row["expires_at"] is not None and row["expires_at"] <= now:
                await (await self._store()).delete(self._table, {"id": row["id"]})
                await self._remove_bytes(row["id"])


def _expired(row: dict[str, Any]) -> bool:
    return row["expires_at"] is not None and row["expires_at"] <= int(time.time())


def _purpose(value: FilePurpose | str) -> FilePurpose:
    try:
        return FilePurpose(value)
    except ValueError:
        known = ", ".join(p.value for p in FilePurpose)
        raise BadRequestError(f"Unknown file purpose '{value}'. Use one of: {known}.") from None


def _object(row: dict[str, Any]) -> FileObject:
    return FileObject(
        id=row["id"],
        bytes=row["bytes"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        filename=row["filename"],
        purpose=FilePurpose(row["purpose"]),
    )


async def _read_input(
    file: bytes | str | os.PathLike[str], filename: str | None
) -> tuple[bytes, str]:
    if isinstance(file, bytes | bytearray | memoryview):
        return bytes(file), _clean_name(filename or "upload")
    path = Path(file).expanduser()
    if not path.is_file():
        raise BadRequestError(
            f"'{file}' is not a file. Pass the bytes of a file, or the path of a local file."
        )
    return await asyncio.to_thread(path.read_bytes), _clean_name(filename or path.name)


def _clean_name(name: str) -> str:
    """Keep the base name only: a client's path never becomes ours."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base or "upload"


def _write_atomic(path: Path, content: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
