"""Record-replay of providers' exchanges as plain JSON cassettes (tests and notebooks).

Mode and folder come from LLAMA_WORKBENCH_RECORDING and LLAMA_WORKBENCH_CASSETTES, or from
`recording(mode, folder)` for a block of code. Modes, as Llama Stack's tests name them:
`live` (no cassettes), `record` (call, then write what came back), `replay` (answer from
cassettes only; a request never recorded is a MissingRecordingError) and `record-if-missing`
(replay what is recorded, call and record the rest). A cassette is one pretty-printed JSON file
per distinct request, named by a hash of what was asked, so recordings diff cleanly.
Credentials are never written.

Remote providers are recorded at the httpx transport of our own clients, instead of patching
httpx process-wide, so streamed (SSE) bodies replay chunk by chunk and unrelated HTTP traffic is
left alone. Inline providers (inline::transformers' chat and completions,
inline::sentence-transformers' embeddings and rerank) are recorded at their provider methods
(`recorded`): the request model in, the response model or the stream of chunks out. A replayed
call never reaches the provider, so no model is loaded (no torch import): a notebook's tests run
offline in seconds from cassettes its author recorded once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from llama_workbench.core.errors import MissingRecordingError

# The settings and the inline providers' recording live in a module without httpx (inline
# providers import it when the stack is built); they are part of this module's surface.
from llama_workbench.providers.utils.call_recording import (
    DIR_ENV,
    MODE_ENV,
    MODES,
    Mode,
    RecordingSettings,
    current_settings,
    recorded,
    recording,
)

__all__ = [
    "DIR_ENV",
    "MODES",
    "MODE_ENV",
    "CassetteTransport",
    "Mode",
    "RecordingSettings",
    "current_settings",
    "recorded",
    "recording",
    "request_key",
    "transport_for",
]
_KEPT_HEADERS = ("content-type", "retry-after")
# Credentials some services take in the body or the query (Tavily's api_key, Wolfram's appid):
# never part of a cassette's name or content.
_SECRET_FIELDS = frozenset({"api_key", "appid"})


def transport_for(settings: RecordingSettings | None = None) -> httpx.AsyncBaseTransport | None:
    """A transport for a new client: None (plain httpx) when live."""
    settings = settings or current_settings()
    if settings.mode == "live":
        return None
    return CassetteTransport(settings)


def request_key(method: str, path: str, body: bytes, query: str = "") -> str:
    """The cassette name of a request: stable across runs (JSON bodies are canonicalized;
    credentials in the body or the query are left out)."""
    try:
        canonical = (
            json.dumps(_public(json.loads(body)), sort_keys=True, separators=(",", ":"))
            if body
            else ""
        )
    except (json.JSONDecodeError, UnicodeDecodeError):
        canonical = hashlib.sha256(body).hexdigest()
    params = sorted(
        (k, v) for k, v in httpx.QueryParams(query).multi_items() if k not in _SECRET_FIELDS
    )
    where = f"{path}?{urlencode(params)}" if params else path
    digest = hashlib.sha256(f"{method.upper()} {where}\n{canonical}".encode()).hexdigest()[:16]
    slug = path.strip("/").replace("/", "_") or "root"
    return f"{method.lower()}_{slug}_{digest}"


class CassetteTransport(httpx.AsyncBaseTransport):
    """Replays recorded exchanges, or forwards to the network and writes what came back."""

    def __init__(
        self, settings: RecordingSettings, inner: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        key = request_key(request.method, request.url.path, body, request.url.query.decode())
        path = self.settings.folder / f"{key}.json"
        if self.settings.mode == "replay" or (
            self.settings.mode == "record-if-missing" and path.is_file()
        ):
            return _replay(path, request, body)
        response = await self._inner.handle_async_request(request)
        chunks = [chunk async for chunk in _raw(response)]
        await response.aclose()
        _write(path, request, body, response, chunks)
        return httpx.Response(
            response.status_code,
            headers=_kept(response.headers),
            stream=_Replay(chunks),
            request=request,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _raw(response: httpx.Response) -> AsyncIterator[bytes]:
    # Decoded bytes: the cassette keeps no content-encoding, so it must hold plain content.
    async for chunk in response.aiter_bytes():
        yield chunk


def _kept(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}


def _write(
    path: Path, request: httpx.Request, body: bytes, response: httpx.Response, chunks: list[bytes]
) -> None:
    text_chunks = [c.decode("utf-8", errors="replace") for c in chunks]
    try:
        request_body: Any = _public(json.loads(body)) if body else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        request_body = body.decode("utf-8", errors="replace")
    record = {
        "request": {"method": request.method, "path": request.url.path, "body": request_body},
        "response": {
            "status": response.status_code,
            "headers": _kept(response.headers),
            "chunks": text_chunks,
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def _public(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in _SECRET_FIELDS}
    return value


def _replay(path: Path, request: httpx.Request, body: bytes) -> httpx.Response:
    if not path.is_file():
        excerpt = body[:300].decode("utf-8", errors="replace")
        raise MissingRecordingError(
            f"No recording for {request.method} {request.url.path} (cassette {path.name} in "
            f"{path.parent}). Record it with {MODE_ENV}=record or record-if-missing. Request body: {excerpt}"
        )
    record = json.loads(path.read_text(encoding="utf-8"))
    response = record["response"]
    chunks = [c.encode("utf-8") for c in response["chunks"]]
    return httpx.Response(
        response["status"], headers=response["headers"], stream=_Replay(chunks), request=request
    )


class _Replay(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
