"""Running the server: in the foreground (the CLI) or in a background thread (a notebook)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_workbench.core import gc_tuning
from llama_workbench.core.errors import ConfigError, LlamaWorkbenchError
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
            **tls_options(stack),
        )
        if not quiet:
            name = stack.config.distro_name
            for note in stack.compat_notes:
                print(f"llama_workbench: not served as written: {note}", flush=True)
            print(
                f"llama_workbench: serving '{name}' on {settings.scheme}://{host}:{port} "
                "(Ctrl-C stops)",
                flush=True,
            )
        gc_tuning.freeze_startup_heap()  # a full collection won't re-walk the stack and app
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
        create_app(stack),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        **tls_options(stack),
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
    url = f"{stack.config.server.scheme}://{host}:{port}"
    return BackgroundServer(url=url, _server=server, _thread=thread)


def tls_options(stack: Stack) -> dict[str, Any]:
    """uvicorn's HTTPS settings from `server.tls_certfile/keyfile/cafile` (none: plain HTTP);
    a ConfigError names a file that is not there."""
    settings = stack.config.server
    if settings.tls_certfile is None:
        return {}
    for key in ("tls_certfile", "tls_keyfile", "tls_cafile"):
        path = getattr(settings, key)
        if path is not None and not Path(path).expanduser().is_file():
            raise ConfigError(
                f"server.{key}: no such file: {path}", details={"path": f"server.{key}"}
            )
    options: dict[str, Any] = {
        "ssl_certfile": str(Path(settings.tls_certfile).expanduser()),
        "ssl_keyfile": str(Path(settings.tls_keyfile or "").expanduser()),
    }
    if settings.tls_cafile is not None:  # mutual TLS: clients must show a certificate
        options["ssl_ca_certs"] = str(Path(settings.tls_cafile).expanduser())
        options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return options
