"""Record-replay of remote providers' HTTP exchanges as plain JSON cassettes (tests and notebooks).

Mode and folder come from LLAMA_WORKBENCH_RECORDING (`live` | `record` | `replay`) and
LLAMA_WORKBENCH_CASSETTES, or from `recording(mode, folder)` for a block of code. A cassette is
one pretty-printed JSON file per distinct request, named by a hash of method, path and body, so
recordings diff cleanly. Credentials are never written. This sits at the httpx transport of our
own clients, instead of patching httpx process-wide, so streamed (SSE) bodies replay chunk by
chunk and unrelated HTTP traffic is left alone.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from llama_workbench.core.errors import ConfigError, MissingRecordingError

Mode = Literal["live", "record", "replay"]
MODE_ENV = "LLAMA_WORKBENCH_RECORDING"
DIR_ENV = "LLAMA_WORKBENCH_CASSETTES"
_KEPT_HEADERS = ("content-type", "retry-after")
# Credentials some services take in the body or the query (Tavily's api_key, Wolfram's appid):
# never part of a cassette's name or content.
_SECRET_FIELDS = frozenset({"api_key", "appid"})


@dataclass(frozen=True)
class RecordingSettings:
    mode: Mode
    folder: Path


_override: contextvars.ContextVar[RecordingSettings | None] = contextvars.ContextVar(
    "recording", default=None
)


def current_settings() -> RecordingSettings:
    """The settings in force: a `recording()` block, else the environment variables."""
    override = _override.get()
    if override is not None:
        return override
    mode = os.environ.get(MODE_ENV, "live").strip().lower() or "live"
    if mode not in ("live", "record", "replay"):
        raise ConfigError(f"{MODE_ENV}={mode!r}: expected live, record or replay")
    folder = Path(os.environ.get(DIR_ENV, "cassettes")).expanduser()
    return RecordingSettings(mode=mode, folder=folder)  # type: ignore[arg-type]


@contextlib.contextmanager
def recording(mode: Mode, folder: str | os.PathLike[str]) -> Iterator[RecordingSettings]:
    """Record or replay the remote providers' HTTP traffic of clients created inside the block."""
    if mode not in ("live", "record", "replay"):
        raise ConfigError(f"recording mode {mode!r}: expected live, record or replay")
    settings = RecordingSettings(mode=mode, folder=Path(folder).expanduser())
    token = _override.set(settings)
    try:
        yield settings
    finally:
        _override.reset(token)


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
        if self.settings.mode == "replay":
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
            f"{path.parent}). Record it with {MODE_ENV}=record. Request body: {excerpt}"
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
