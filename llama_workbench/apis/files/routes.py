"""REST routes of the Files API (OpenAI-compatible, Llama Stack 0.7 paths)."""

from __future__ import annotations

import mimetypes
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from llama_workbench.apis.files.api import Files
from llama_workbench.apis.files.models import (
    ExpiresAfter,
    FileDeleteResponse,
    FileObject,
    FilePurpose,
    ListFilesResponse,
)
from llama_workbench.core.errors import UnprocessableError


def create_router(impl: Files) -> APIRouter:
    router = APIRouter(tags=["files"])

    @router.post("/v1/files", response_model=FileObject, summary="Upload file.")
    async def upload_file(
        request: Request,
        file: Annotated[UploadFile, File(description="The file to upload.")],
        purpose: Annotated[FilePurpose, Form(description="What the file is for.")],
    ) -> FileObject:
        form = await request.form()
        expires = _expires_after(
            form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
        )
        content = await file.read()
        return await impl.upload_file(content, purpose, file.filename or "upload", expires)

    @router.get("/v1/files", response_model=ListFilesResponse, summary="List files.")
    async def list_files(
        after: str | None = Query(None, description="The last id of the previous page."),
        limit: int = Query(10000, ge=1, le=10000),
        order: Literal["asc", "desc"] = Query("desc", description="By creation time."),
        purpose: Annotated[
            FilePurpose | None, Query(description="Only files with this purpose.")
        ] = None,
    ) -> ListFilesResponse:
        return await impl.list_files(after, limit, order, purpose)

    @router.get("/v1/files/{file_id}", response_model=FileObject, summary="Get file.")
    async def retrieve_file(file_id: str) -> FileObject:
        return await impl.retrieve_file(file_id)

    @router.delete("/v1/files/{file_id}", response_model=FileDeleteResponse, summary="Delete file.")
    async def delete_file(file_id: str) -> FileDeleteResponse:
        return await impl.delete_file(file_id)

    @router.get(
        "/v1/files/{file_id}/content",
        summary="Retrieve file content.",
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    async def retrieve_file_content(file_id: str) -> Response:
        meta = await impl.retrieve_file(file_id)
        content = await impl.retrieve_file_content(file_id)
        media_type = mimetypes.guess_type(meta.filename)[0] or "application/octet-stream"
        disposition = f"attachment; filename*=UTF-8''{quote(meta.filename)}"
        return Response(
            content, media_type=media_type, headers={"Content-Disposition": disposition}
        )

    return router


def _expires_after(anchor: object, seconds: object) -> ExpiresAfter | None:
    if anchor is None and seconds is None:
        return None
    try:
        return ExpiresAfter.model_validate(
            {"anchor": str(anchor or "created_at"), "seconds": int(str(seconds))}
        )
    except ValueError as exc:
        raise UnprocessableError(f"Invalid expires_after: {exc}") from None
