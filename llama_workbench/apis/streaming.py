"""Server-Sent Events for the routes that stream: OpenAI's `data: {chunk}` lines, then `data: [DONE]`."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel

from llama_workbench.core.errors import to_http

logger = logging.getLogger(__name__)


async def sse_events(stream: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    """Encode a stream of pydantic chunks; an error mid-stream becomes a final error event.

    When the client disconnects, Starlette cancels this generator; closing the provider's
    stream in `finally` stops generation, so no work outlives the request.
    """
    try:
        async for chunk in stream:
            payload = (
                chunk.model_dump_json(exclude_none=True)
                if isinstance(chunk, BaseModel)
                else json.dumps(chunk)
            )
            yield f"data: {payload}\n\n".encode()
    except Exception as exc:
        status, body = to_http(exc)
        if status >= 500:
            logger.exception("stream failed")
        yield f"data: {json.dumps(body)}\n\n".encode()
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    yield b"data: [DONE]\n\n"


async def sse_typed_events(stream: AsyncIterator[BaseModel]) -> AsyncIterator[bytes]:
    """Encode typed events (the Responses API's): `event: <type>` + `data: {event}`, no [DONE].

    An error that escapes the stream becomes a final `error` event, as OpenAI sends it.
    """
    try:
        async for event in stream:
            kind = getattr(event, "type", "message")
            yield f"event: {kind}\ndata: {event.model_dump_json(exclude_none=True)}\n\n".encode()
    except Exception as exc:
        status, body = to_http(exc)
        if status >= 500:
            logger.exception("stream failed")
        error = body.get("error", {}) if isinstance(body, dict) else {}
        payload = {
            "type": "error",
            "code": str(error.get("type", status)),
            "message": error.get("message", str(exc)),
            "param": None,
        }
        yield f"event: error\ndata: {json.dumps(payload)}\n\n".encode()
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
