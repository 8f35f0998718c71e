"""Running the server: in the foreground (the CLI) or in a background thread (a notebook)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from llama_workbench.core.errors import LlamaWorkbenchError
from llama_workbench.core.stack import Source, Stack


async def serve(
    source: Source, *, host: str | None = None, port: int | None = None, quiet: bool = False
) -> None:
    """Build the stack on this event loop and serve it until SIGINT/SIGTERM (graceful shutdown)."""
    import uvicorn

    from llama_workbench.server.app import create_app

    stack = await Stack.create(source)
    try:
        settings = stack.config.server
        host, port = host or settings.host, port or settings.port
        config = uvicorn.Config(
            create_app(stack),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=int(settings.graceful_shutdown_s),
        )
        if not quiet:
            name = stack.config.distro_name
            for note in stack.compat_notes:
                print(f"llama_workbench: not served as written: {note}", flush=True)
            print(
                f"llama_workbench: serving '{name}' on http://{host}:{port} (Ctrl-C stops)",
                flush=True,
            )
        with _stop_signals_end_normally():
            await uvicorn.Server(config).serve()
    finally:
        await stack.aclose()


def run_server(source: Source, *, host: str | None = None, port: int | None = None) -> None:
    """Serve in the foreground on a new event loop: uvloop's where it is installed (uvicorn's
    `standard` extra brings it; its socket I/O in C cuts the per-request cost), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(source, host=host, port=port))


@contextlib.contextmanager
def _stop_signals_end_normally() -> Iterator[None]:
    """uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler
    it found; with this one in place that ends `serve` normally, so the stack is closed too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda s, _f: received.append(s)) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class BackgroundServer:
    """A server running in a daemon thread; `stop()` shuts it down gracefully."""

    url: str
    _server: object
    _thread: threading.Thread

    def stop(self, timeout: float = 30.0) -> None:
        self._server.should_exit = True  # type: ignore[attr-defined]
        self._thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    stack: Stack, *, host: str = "127.0.0.1", port: int = 8321, timeout: float = 30.0
) -> BackgroundServer:
    """Serve an existing stack from a background thread (e.g. from a notebook cell)."""
    import uvicorn

    from llama_workbench.server.app import create_app

    config = uvicorn.Config(
        create_app(stack), host=host, port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    # The server's own loop runs in the thread; it reaches the stack through its async face.
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve()), daemon=True, name="llama-workbench-server"
    )
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise LlamaWorkbenchError(
                f"The server did not start on {host}:{port} (is the port in use?)"
            )
        time.sleep(0.01)
    return BackgroundServer(url=f"http://{host}:{port}", _server=server, _thread=thread)
