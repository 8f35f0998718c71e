"""uvicorn's httptools protocol, sending what a connection writes in one event-loop turn as one.

Starlette sends a response as two ASGI messages (the head, then the body), and uvicorn writes
each to the socket as it comes: two system calls, and on the client two wake-ups and often two
TCP segments, for every JSON answer. Here a connection's writes are gathered until the end of
the loop turn that made them (`call_soon`) and go out as one. A streamed answer (SSE) still goes
out chunk by chunk: its generator awaits between chunks, which ends the turn. Closing flushes
first, so nothing written is lost.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _TurnBuffer:
    """A transport whose writes wait for the end of the loop turn, then go out together."""

    __slots__ = ("_chunks", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._chunks: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._chunks:
            self._loop.call_soon(self._flush)
        self._chunks.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        if self._chunks:
            data = b"".join(self._chunks) if len(self._chunks) > 1 else self._chunks[0]
            self._chunks.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._chunks.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, pause_reading, is_closing...
        return getattr(self._transport, name)


class TurnBufferedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's `httptools` HTTP/1.1 protocol over a `_TurnBuffer` (pass as `http=` to uvicorn)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_TurnBuffer(transport, self.loop))  # type: ignore[arg-type]
