"""Record-replay settings (mode, folder) and the recording of inline providers' calls.

The modes and their meaning are described in `llama_workbench.providers.utils.recording`, which
re-exports everything here; this module imports no HTTP client, so inline providers can use
`recorded` without adding to a stack's build time.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from llama_workbench.core.errors import ConfigError, MissingRecordingError

Mode = Literal["live", "record", "replay", "record-if-missing"]
MODES: tuple[Mode, ...] = ("live", "record", "replay", "record-if-missing")
MODE_ENV = "LLAMA_WORKBENCH_RECORDING"
DIR_ENV = "LLAMA_WORKBENCH_CASSETTES"


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
    if mode not in MODES:
        raise ConfigError(f"{MODE_ENV}={mode!r}: expected one of {', '.join(MODES)}")
    folder = Path(os.environ.get(DIR_ENV, "cassettes")).expanduser()
    return RecordingSettings(mode=mode, folder=folder)


@contextlib.contextmanager
def recording(mode: Mode, folder: str | os.PathLike[str]) -> Iterator[RecordingSettings]:
    """Record or replay inside the block: remote providers' clients created in it, and the
    inline providers' calls made in it."""
    if mode not in MODES:
        raise ConfigError(f"recording mode {mode!r}: expected one of {', '.join(MODES)}")
    settings = RecordingSettings(mode=mode, folder=Path(folder).expanduser())
    token = _override.set(settings)
    try:
        yield settings
    finally:
        _override.reset(token)


# -- inline providers: recorded at their methods


Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])


def recorded(
    provider_type: str, result: type[BaseModel], chunk: type[BaseModel] | None = None
) -> Callable[[Method], Method]:
    """Make an inline provider's `async def method(self, request)` recordable.

    `result` is the response model; `chunk` the model of a stream's items (when the request
    has `stream: true`). Live mode calls straight through.
    """

    def decorate(method: Method) -> Method:
        @functools.wraps(method)
        async def call(self: Any, request: BaseModel) -> Any:
            settings = current_settings()
            if settings.mode == "live":
                return await method(self, request)
            body = request.model_dump(mode="json", exclude_none=True)
            path = settings.folder / f"{call_key(provider_type, method.__name__, body)}.json"
            if settings.mode == "replay" or (
                settings.mode == "record-if-missing" and path.is_file()
            ):
                return _replay_call(path, provider_type, method.__name__, body, result, chunk)
            answer = await method(self, request)
            head = {"provider_type": provider_type, "method": method.__name__, "body": body}
            if isinstance(answer, BaseModel):
                _write_record(path, {"request": head, "response": _dumped(answer)})
                return answer
            return _recording_stream(answer, path, head)

        return call  # type: ignore[return-value]

    return decorate


def call_key(provider_type: str, method: str, body: Any) -> str:
    """The cassette name of an inline call, e.g. inline_transformers_chat_completion_<hash>."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{provider_type} {method}\n{canonical}".encode()).hexdigest()[:16]
    slug = provider_type.replace("::", "_").replace("-", "_")
    return f"{slug}_{method}_{digest}"


def _dumped(model: BaseModel) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


def _write_record(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


async def _recording_stream(
    stream: AsyncIterator[BaseModel], path: Path, head: dict[str, Any]
) -> AsyncIterator[BaseModel]:
    """Pass the chunks on; write the cassette once the stream has ended (a stream closed early
    is not a recording)."""
    chunks = []
    try:
        async for item in stream:
            chunks.append(_dumped(item))
            yield item
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    _write_record(path, {"request": head, "response": {"chunks": chunks}})


def _replay_call(
    path: Path,
    provider_type: str,
    method: str,
    body: Any,
    result: type[BaseModel],
    chunk: type[BaseModel] | None,
) -> Any:
    if not path.is_file():
        excerpt = json.dumps(body)[:300]
        raise MissingRecordingError(
            f"No recording for {provider_type} {method} (cassette {path.name} in "
            f"{path.parent}). Record it with {MODE_ENV}=record or record-if-missing. "
            f"Request: {excerpt}"
        )
    response = json.loads(path.read_text(encoding="utf-8"))["response"]
    if isinstance(response, dict) and "chunks" in response:
        if chunk is None:
            raise MissingRecordingError(f"Cassette {path.name} holds a stream; expected one answer")
        return _replayed_stream([chunk.model_validate(c) for c in response["chunks"]])
    return result.model_validate(response)


async def _replayed_stream(items: list[BaseModel]) -> AsyncIterator[BaseModel]:
    for item in items:
        yield item
