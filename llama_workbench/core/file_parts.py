"""Chat `file` content parts as text: the file read through the Files API, parsed as a document."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from llama_workbench.apis.inference.models import (
    ChatCompletionRequest,
    FileContentPart,
    FileRef,
    TextContentPart,
)
from llama_workbench.core.errors import BadRequestError


def has_file_parts(request: ChatCompletionRequest) -> bool:
    return any(
        isinstance(part, FileContentPart)
        for message in request.messages
        if isinstance(message.content, list)
        for part in message.content
    )


async def inline_file_parts(request: ChatCompletionRequest, files: Any) -> ChatCompletionRequest:
    """The request with each `file` part replaced by a text part holding the file's text.

    A file id is read through the Files API (an unknown one, or one of another principal, is
    its 404); `file_data` is a data URL or plain base64. Every model reads the result, as the
    models behind an OpenAI-compatible endpoint mostly take no files themselves.
    """
    if not has_file_parts(request):
        return request
    messages = []
    for message in request.messages:
        if not isinstance(message.content, list):
            messages.append(message)
            continue
        content = [
            TextContentPart(type="text", text=await _file_text(part.file, files))
            if isinstance(part, FileContentPart)
            else part
            for part in message.content
        ]
        messages.append(message.model_copy(update={"content": content}))
    return request.model_copy(update={"messages": messages})


async def _file_text(ref: FileRef, files: Any) -> str:
    from llama_workbench.providers.utils.documents import extract_text

    mime: str | None = None
    if ref.file_id is not None:
        if files is None:
            raise BadRequestError(
                "file parts with a file_id need the files API: add a files provider "
                "(inline::localfs) to the run config, or send file_data."
            )
        meta = await files.retrieve_file(ref.file_id)
        content: bytes = await files.retrieve_file_content(ref.file_id)
        name = ref.filename or meta.filename
    else:
        mime, content = _decoded(ref.file_data or "")
        name = ref.filename or "file"
    document = await asyncio.to_thread(extract_text, content, name, mime)
    return f'<file name="{name}">\n{document.text}\n</file>'


def _decoded(data: str) -> tuple[str | None, bytes]:
    """(mime type, bytes) of a data URL (`data:<mime>;base64,<payload>`) or of plain base64."""
    mime = None
    if data.startswith("data:"):
        header, _, data = data.partition(",")
        if not header.endswith(";base64"):
            raise BadRequestError(
                "file.file_data: a data URL must be base64 (data:<mime>;base64,...)."
            )
        mime = header[len("data:") : -len(";base64")] or None
    try:
        return mime, base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError("file.file_data is not valid base64.") from None
