"""The Files API protocol: uploads kept by the stack, referenced by id (vector stores, batches)."""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from llama_workbench.apis.files.models import (
    ExpiresAfter,
    FileDeleteResponse,
    FileObject,
    FilePurpose,
    ListFilesResponse,
)


@runtime_checkable
class Files(Protocol):
    """Upload, list, read and delete files."""

    async def upload_file(
        self,
        file: bytes | str,
        purpose: FilePurpose | str = FilePurpose.assistants,
        filename: str | None = None,
        expires_after: ExpiresAfter | None = None,
    ) -> FileObject:
        """Store a file: bytes, or a local path (its name is used unless `filename` is given)."""
        ...

    async def list_files(
        self,
        after: str | None = None,
        limit: int = 10000,
        order: Literal["asc", "desc"] = "desc",
        purpose: FilePurpose | str | None = None,
    ) -> ListFilesResponse:
        """Files, newest first by default; `after` is the last id of the previous page."""
        ...

    async def retrieve_file(self, file_id: str) -> FileObject:
        """One file's metadata."""
        ...

    async def retrieve_file_content(self, file_id: str) -> bytes:
        """One file's bytes."""
        ...

    async def delete_file(self, file_id: str) -> FileDeleteResponse:
        """Delete a file and its bytes."""
        ...


@runtime_checkable
class FilesProvider(Files, Protocol):
    """What a files provider implements: the API itself, plus shutdown."""

    async def shutdown(self) -> None: ...
