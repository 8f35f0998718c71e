"""`stack.files`: the Files API as calls that return results.

Generated from llama_workbench/apis/files/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.apis.files.models import FilePurpose
from llama_workbench.facade._runtime import SyncFace

if TYPE_CHECKING:
    from typing import Literal

    from llama_workbench.apis.files.models import (
        ExpiresAfter,
        FileDeleteResponse,
        FileObject,
        ListFilesResponse,
    )


class FilesApi(SyncFace):
    """Upload, list, read and delete files."""

    __slots__ = ()

    def upload_file(
        self,
        file: bytes | str,
        purpose: FilePurpose | str = FilePurpose.assistants,
        filename: str | None = None,
        expires_after: ExpiresAfter | None = None,
    ) -> FileObject:
        """Store a file: bytes, or a local path (its name is used unless `filename` is given)."""
        return cast("FileObject", self._call("upload_file", locals()))

    def list_files(
        self,
        after: str | None = None,
        limit: int = 10000,
        order: Literal["asc", "desc"] = "desc",
        purpose: FilePurpose | str | None = None,
    ) -> ListFilesResponse:
        """Files, newest first by default; `after` is the last id of the previous page."""
        return cast("ListFilesResponse", self._call("list_files", locals()))

    def retrieve_file(self, file_id: str) -> FileObject:
        """One file's metadata."""
        return cast("FileObject", self._call("retrieve_file", locals()))

    def retrieve_file_content(self, file_id: str) -> bytes:
        """One file's bytes."""
        return cast("bytes", self._call("retrieve_file_content", locals()))

    def delete_file(self, file_id: str) -> FileDeleteResponse:
        """Delete a file and its bytes."""
        return cast("FileDeleteResponse", self._call("delete_file", locals()))
