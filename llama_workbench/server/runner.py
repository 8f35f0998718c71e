"""Running the server: in the foreground (the CLI) or in a background thread (a notebook)."""

from __future__ import annotations

import asyncio
import threading
import time
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
        host = host or stack.config.server.host
        port = port or stack.config.server.port
        config = uvicorn.Config(
            create_app(stack),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=30,
        )
        if not quiet:
            print(
                f"llama_workbench: serving '{stack.config.distro_name}' on http://{host}:{port} (Ctrl-C stops)"
            )
        await uvicorn.Server(config).serve()
    finally:
        await stack.aclose()


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
