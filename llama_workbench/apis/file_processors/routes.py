"""REST routes of the File Processors API (Llama Stack 0.7.3's multipart form)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import ValidationError

from llama_workbench.apis.file_processors.api import FileProcessors
from llama_workbench.apis.file_processors.models import ProcessFileResponse
from llama_workbench.apis.vector_io.models import ChunkingStrategyAuto, ChunkingStrategyStatic
from llama_workbench.core.errors import BadRequestError


def create_router(impl: FileProcessors) -> APIRouter:
    router = APIRouter(tags=["file_processors"])

    @router.post(
        "/v1alpha/file-processors/process",
        response_model=ProcessFileResponse,
        summary="Process a file into chunks ready for vector database storage.",
        description=(
            "Process a file uploaded with the request (`file`) or already stored (`file_id`); "
            "exactly one of them."
        ),
    )
    async def process_file(
        file: Annotated[UploadFile | None, File(description="The file to process.")] = None,
        file_id: Annotated[str | None, Form(description="A stored file's id.")] = None,
        options: Annotated[str | None, Form(description="Processing options (JSON).")] = None,
        chunking_strategy: Annotated[
            str | None, Form(description="A chunking strategy (JSON): auto or static.")
        ] = None,
    ) -> ProcessFileResponse:
        strategy = _strategy(chunking_strategy)
        content = await file.read() if file is not None else None
        return await impl.process_file(
            file_id or None,
            content,
            file.filename if file is not None else None,
            _options(options),
            strategy,
        )

    return router


def _json_object(value: str, name: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise BadRequestError(f"Invalid JSON in {name}: {exc}") from None
    if not isinstance(parsed, dict):
        raise BadRequestError(f"{name} must be a JSON object")
    return parsed


def _options(value: str | None) -> dict[str, Any] | None:
    return _json_object(value, "options") if value else None


def _strategy(value: str | None) -> ChunkingStrategyAuto | ChunkingStrategyStatic | None:
    if not value:
        return None
    data = _json_object(value, "chunking_strategy")
    kinds: dict[str, type[ChunkingStrategyAuto | ChunkingStrategyStatic]] = {
        "auto": ChunkingStrategyAuto,
        "static": ChunkingStrategyStatic,
    }
    cls = kinds.get(str(data.get("type")))
    if cls is None:
        raise BadRequestError(f"Invalid chunking strategy type: {data.get('type')}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise BadRequestError(f"Invalid chunking strategy ({where}): {problem['msg']}") from None
