"""In-process SDK clients: `openai` and `llama-stack-client` answered by this stack's REST app, no port.

`stack.openai()` returns an `openai.OpenAI` (`stack.aopenai()` an `AsyncOpenAI`, and
`stack.llama_stack_client()` a `llama_stack_client.LlamaStackClient`) whose httpx transport hands
each request to the stack's own FastAPI app (`server/app.py`, reached through `core/app_hook.py`:
the same routes, request validation and error answers as `llama-workbench stack run`) as an ASGI
call on the stack's event loop. No socket is opened. The SDK code written for a server runs unchanged, errors included
(a 404 is `openai.NotFoundError`, a 400 `openai.BadRequestError`).

Calls run as library mode's local principal: the app is built without bearer-token auth (there
is no one to authenticate in-process); the provider-data header, the body-size and concurrency
limits still apply. The app is built on first use, once per stack.

httpx's own ASGITransport collects a whole response before returning it, so a streamed answer
would arrive in one piece; these transports hand each body part to the caller as the app sends
it, and closing a stream early cancels the request on the stack (generation stops).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import importlib
import json
import logging
import queue
import sys
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, MutableMapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, cast

import httpx

from llama_workbench.core.app_hook import rest_app
from llama_workbench.core.bridge import running_loop, submit
from llama_workbench.core.errors import LlamaWorkbenchError, MissingDependencyError

if TYPE_CHECKING:
    from llama_workbench.core.stack import Stack

# Never resolved: the transports answer every request themselves.
BASE_URL = "http://in-process.llama-workbench"
_API_KEY = "in-process"  # the SDKs want one; the in-process app does not read it
_OWN_OPTIONS = ("base_url", "http_client", "api_key", "websocket_base_url")
_WAKE_S = 0.05  # wait in slices so Ctrl-C in a notebook is acted on
logger = logging.getLogger(__name__)

Message = MutableMapping[str, Any]

_apps: weakref.WeakKeyDictionary[Stack, Any] = weakref.WeakKeyDictionary()
_apps_lock = threading.Lock()


def stack_app(stack: Stack) -> Any:
    """The stack's REST app for in-process calls (built once per stack, without auth)."""
    with _apps_lock:
        app = _apps.get(stack)
        if app is None:
            try:
                app = _apps[stack] = rest_app(stack)
            except ModuleNotFoundError as exc:
                if not exc.name or exc.name.startswith("llama_workbench"):
                    raise
                raise MissingDependencyError(
                    exc.name.split(".")[0], "clients", needed_by="the in-process clients"
                ) from None
    return app


# -- the clients


def openai_client(stack: Stack, **options: Any) -> Any:
    """An `openai.OpenAI` answered by `stack` in-process; `options` go to its constructor."""
    return _client(stack, "openai", "OpenAI", options)


def async_openai_client(stack: Stack, **options: Any) -> Any:
    """An `openai.AsyncOpenAI` answered by `stack` in-process; `options` go to its constructor."""
    return _client(stack, "openai", "AsyncOpenAI", options)


def llama_stack_client(stack: Stack, **options: Any) -> Any:
    """A `llama_stack_client.LlamaStackClient` answered by `stack` in-process (library-client style)."""
    return _client(stack, "llama_stack_client", "LlamaStackClient", options)


def async_llama_stack_client(stack: Stack, **options: Any) -> Any:
    """A `llama_stack_client.AsyncLlamaStackClient` answered by `stack` in-process."""
    return _client(stack, "llama_stack_client", "AsyncLlamaStackClient", options)


def _client(stack: Stack, package: str, name: str, options: dict[str, Any]) -> Any:
    """The SDK's client over its own default httpx client class (its timeouts and limits), with
    an in-process transport built on the HTTP library that SDK uses (httpx, or the httpx2 of
    newer openai releases: their clients check the response types)."""
    sdk = _import(package, f"{package}.{name} in-process")
    taken = sorted(set(options) & set(_OWN_OPTIONS))
    if taken:
        raise TypeError(
            f"{package}.{name} in-process: {', '.join(taken)} can't be set (requests go to "
            "this stack, with no server, URL or key); options such as timeout, max_retries "
            "or default_headers can."
        )
    is_async = name.startswith("Async")
    http_client_cls = sdk.DefaultAsyncHttpxClient if is_async else sdk.DefaultHttpxClient
    transport_cls = AsyncInProcessTransport if is_async else InProcessTransport
    transport = transport_cls(stack, http=_http_library(http_client_cls))
    return getattr(sdk, name)(
        api_key=_API_KEY,
        # openai's paths are relative to /v1; llama-stack-client's start with /v1.
        base_url=f"{BASE_URL}/v1" if package == "openai" else BASE_URL,
        http_client=http_client_cls(transport=transport),
        **options,
    )


def _http_library(client_cls: type) -> ModuleType:
    for cls in client_cls.__mro__:
        root = cls.__module__.split(".")[0]
        if root.startswith("httpx"):
            return importlib.import_module(root)
    return httpx


def _import(package: str, needed_by: str) -> Any:
    try:
        return importlib.import_module(package)
    except ImportError:
        if package == "llama_stack_client" and sys.version_info < (3, 12):
            raise MissingDependencyError(
                "llama-stack-client", "clients", needed_by=f"{needed_by}; it needs Python >= 3.12"
            ) from None
        raise MissingDependencyError(
            package.replace("_", "-"), "clients", needed_by=needed_by
        ) from None


# -- one request through the app


def _scope(request: httpx.Request) -> dict[str, Any]:
    return {
        "type": "http",
        # 2.4: no disconnect listener per streamed response; a client that goes away cancels
        # the request's task instead (the transports' close()).
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": request.method,
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "scheme": request.url.scheme,
        "path": request.url.path,
        "raw_path": request.url.raw_path.split(b"?")[0],
        "query_string": request.url.query,
        "server": (request.url.host, request.url.port or 80),
        "client": None,  # no peer: the call comes from this process
        "root_path": "",
    }


class _Sink(Protocol):
    """Where the app's answer goes: the response head once, then body parts, then the end."""

    def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None: ...
    def part(self, body: bytes) -> None: ...
    def finish(self, error: BaseException | None) -> None: ...


async def _exchange(app: Any, scope: dict[str, Any], body: bytes, sink: _Sink) -> None:
    """Run `app` for one request on this loop, handing its answer to `sink` as it is sent."""
    complete = asyncio.Event()
    started = received = False

    async def receive() -> Message:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await complete.wait()  # the client is there until the answer has been sent
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
            sink.start(message["status"], list(message.get("headers", [])))
        elif message["type"] == "http.response.body":
            if message.get("body"):
                sink.part(bytes(message["body"]))
            if not message.get("more_body", False):
                complete.set()
                sink.finish(None)

    error: BaseException | None = None
    try:
        await app(scope, receive, send)
    except Exception as exc:
        # The app's handlers have answered (and logged what became a 500) unless it failed
        # before any answer: then the caller gets the 500 a server sends.
        if not started:
            logger.exception("%s %s failed", scope["method"], scope["path"])
            await send({"type": "http.response.start", "status": 500, "headers": _JSON})
            await send({"type": "http.response.body", "body": _INTERNAL_ERROR})
        elif not complete.is_set():
            error = exc
    except BaseException as exc:  # cancelled: the client went away or the loop is stopping
        error = exc
        raise
    finally:
        sink.finish(error or (None if started else RuntimeError("the app sent no answer")))


_JSON = [(b"content-type", b"application/json")]
_INTERNAL_ERROR = json.dumps(
    {"error": {"message": "Internal server error", "type": "internal_error", "code": 500}}
).encode()
_END = object()


def _joined(items: list[Any]) -> tuple[bytes, bool, BaseException | None]:
    """What arrived since the last read, in one piece (a reader behind the app catches up in
    one step instead of one per part): the bytes, whether the answer ended, its error."""
    body = b"".join(i for i in items if isinstance(i, bytes))
    last = items[-1]
    return (
        body,
        last is _END or isinstance(last, BaseException),
        (last if isinstance(last, BaseException) else None),
    )


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout") or {}
    return timeout.get("read")


class _Answer:
    """What the transports share: the HTTP library their responses are built from."""

    def __init__(self, stack: Stack, *, http: ModuleType = httpx) -> None:
        self._stack = stack
        self._http = http

    def _timed_out(self, request: httpx.Request) -> Exception:
        return cast(
            Exception, self._http.ReadTimeout("The stack did not answer in time.", request=request)
        )

    def _broken(self, request: httpx.Request, error: BaseException) -> Exception:
        broken: Exception = self._http.ReadError(
            f"The answer broke off: {error!r}", request=request
        )
        return broken


# -- sync: the app runs on the stack's loop, the caller's thread waits


class _ThreadSink(_Sink):
    def __init__(self) -> None:
        self.head: concurrent.futures.Future[tuple[int, list[tuple[bytes, bytes]]]] = (
            concurrent.futures.Future()
        )
        self.parts: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._finished = False

    def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.head.set_result((status, headers))

    def part(self, body: bytes) -> None:
        self.parts.put(body)

    def finish(self, error: BaseException | None) -> None:
        if self._finished:
            return
        self._finished = True
        if not self.head.done():
            self.head.set_exception(error or RuntimeError("no answer"))
        self.parts.put(error if error is not None else _END)


def _take(
    get: Callable[[float], Any], timeout: float | None, timed_out: Callable[[], Exception]
) -> Any:
    """Wait for the next item in short slices (interruptible), up to the read timeout."""
    waited = 0.0
    while True:
        try:
            return get(_WAKE_S)
        except (queue.Empty, concurrent.futures.TimeoutError):
            waited += _WAKE_S
            if timeout is not None and waited >= timeout:
                raise timed_out() from None


class _ThreadBody:
    """The response body as the app sends it (mixed into the HTTP library's SyncByteStream)."""

    def __init__(
        self,
        sink: _ThreadSink,
        task: concurrent.futures.Future[None],
        timeout: float | None,
        timed_out: Callable[[], Exception],
        broken: Callable[[BaseException], Exception],
    ) -> None:
        self._sink, self._task, self._timeout = sink, task, timeout
        self._timed_out, self._broken = timed_out, broken
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        parts = self._sink.parts
        while not self._done:
            items = [_take(functools.partial(parts.get, True), self._timeout, self._timed_out)]
            with contextlib.suppress(queue.Empty):
                while True:
                    items.append(parts.get_nowait())
            body, self._done, error = _joined(items)
            if body:
                yield body
            if error is not None:
                raise self._broken(error)

    def close(self) -> None:
        if not self._done:  # closed before the end: stop the work on the stack
            self._done = True
            self._task.cancel()


class InProcessTransport(_Answer, httpx.BaseTransport):
    """A sync httpx transport whose requests `stack`'s REST app answers on the stack's loop.

    `http`: the HTTP library of the client it goes into (httpx, or a fork with its API).
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        loop = self._stack.loop
        if running_loop() is loop:
            raise LlamaWorkbenchError(
                "A synchronous in-process client was called from the stack's own event loop, "
                "which would deadlock. Use the async client instead: `stack.aopenai()`."
            )
        sink = _ThreadSink()
        scope = _scope(request)
        task = submit(_exchange(stack_app(self._stack), scope, request.read(), sink), loop)
        timeout = _read_timeout(request)
        timed_out = functools.partial(self._timed_out, request)
        try:
            status, headers = _take(sink.head.result, timeout, timed_out)
        except BaseException:
            task.cancel()
            raise
        body_cls = _body_class(_ThreadBody, self._http.SyncByteStream)
        stream = body_cls(sink, task, timeout, timed_out, functools.partial(self._broken, request))
        response: httpx.Response = self._http.Response(
            status, headers=headers, stream=stream, request=request
        )
        return response


@functools.cache
def _body_class(body: type, base: type) -> type:
    """`body` as a stream class of the client's HTTP library (its clients check the type)."""
    return type(body.__name__, (body, base), {})


# -- async: the caller's loop awaits, the app runs on the stack's loop (or the same one)


class _LoopSink(_Sink):
    """Hands the answer to `loop` (the caller's), from the stack's loop thread when it differs."""

    def __init__(self, loop: asyncio.AbstractEventLoop, same_loop: bool) -> None:
        self.head: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = loop.create_future()
        self.parts: asyncio.Queue[Any] = asyncio.Queue()
        self._loop, self._same_loop = loop, same_loop
        self._finished = False

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        if self._same_loop:
            fn(*args)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self._call(_set_result, self.head, (status, headers))

    def part(self, body: bytes) -> None:
        self._call(self.parts.put_nowait, body)

    def finish(self, error: BaseException | None) -> None:
        if self._finished:
            return
        self._finished = True
        self._call(_set_exception, self.head, error or RuntimeError("no answer"))
        self._call(self.parts.put_nowait, error if error is not None else _END)


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        if isinstance(error, asyncio.CancelledError):
            error = RuntimeError("the request was cancelled on the stack")
        future.set_exception(error)


async def _within(
    awaitable: Coroutine[Any, Any, Any] | asyncio.Future[Any],
    timeout: float | None,
    timed_out: Callable[[], Exception],
) -> Any:
    if timeout is None:
        return await awaitable
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise timed_out() from None


class _LoopBody:
    """The response body as the app sends it (mixed into the HTTP library's AsyncByteStream)."""

    def __init__(
        self,
        sink: _LoopSink,
        cancel: Callable[[], Any],
        timeout: float | None,
        timed_out: Callable[[], Exception],
        broken: Callable[[BaseException], Exception],
    ) -> None:
        self._sink, self._cancel, self._timeout = sink, cancel, timeout
        self._timed_out, self._broken = timed_out, broken
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        parts = self._sink.parts
        while not self._done:
            items = [await _within(parts.get(), self._timeout, self._timed_out)]
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    items.append(parts.get_nowait())
            body, self._done, error = _joined(items)
            if body:
                yield body
            if error is not None:
                raise self._broken(error)

    async def aclose(self) -> None:
        if not self._done:  # closed before the end: stop the work on the stack
            self._done = True
            self._cancel()


class AsyncInProcessTransport(_Answer, httpx.AsyncBaseTransport):
    """An async httpx transport whose requests `stack`'s REST app answers on the stack's loop
    (on the caller's loop when that is the stack's)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        here, loop = asyncio.get_running_loop(), self._stack.loop
        sink = _LoopSink(here, same_loop=here is loop)
        work = _exchange(stack_app(self._stack), _scope(request), await request.aread(), sink)
        if here is loop:
            cancel: Callable[[], Any] = asyncio.ensure_future(work).cancel
        else:
            cancel = submit(work, loop).cancel
        timeout = _read_timeout(request)
        timed_out = functools.partial(self._timed_out, request)
        try:
            status, headers = await _within(asyncio.shield(sink.head), timeout, timed_out)
        except BaseException:
            cancel()
            raise
        body_cls = _body_class(_LoopBody, self._http.AsyncByteStream)
        stream = body_cls(
            sink, cancel, timeout, timed_out, functools.partial(self._broken, request)
        )
        response: httpx.Response = self._http.Response(
            status, headers=headers, stream=stream, request=request
        )
        return response


__all__ = [
    "BASE_URL",
    "AsyncInProcessTransport",
    "InProcessTransport",
    "async_llama_stack_client",
    "async_openai_client",
    "llama_stack_client",
    "openai_client",
    "stack_app",
]
