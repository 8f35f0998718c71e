"""server/http_protocol.py on a real uvicorn server on 127.0.0.1: a JSON answer goes out in one
socket write (head and body together), a streamed answer still goes out chunk by chunk, and
keep-alive, closing and HEAD lose nothing."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from llama_workbench.server.http_protocol import TurnBufferedHttpToolsProtocol
from tests.support.stub_server import free_port

WRITES: list[bytes] = []


class _Counting:
    """The socket transport under the turn buffer, recording each write that reaches it."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Recorded(TurnBufferedHttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Counting(transport))  # type: ignore[arg-type]


async def _json(request: Any) -> JSONResponse:
    return JSONResponse({"answer": "Paris.", "n": len(await request.body())})


async def _stream(request: Any) -> StreamingResponse:
    async def events() -> Any:
        for word in ("Paris", " is", " the", " capital"):
            yield f"data: {word}\n\n"
            await asyncio.sleep(0.05)

    return StreamingResponse(events(), media_type="text/event-stream")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = Starlette(
        routes=[Route("/json", _json, methods=["GET", "POST", "HEAD"]), Route("/sse", _stream)]
    )
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=_Recorded, log_level="error")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_a_json_answer_is_one_write_and_keep_alive_works(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        for i in range(3):  # one connection, three requests
            WRITES.clear()
            response = client.post("/json", content=b"x" * i)
            assert response.json() == {"answer": "Paris.", "n": i}
            assert len(WRITES) == 1, WRITES
            head, _, body = WRITES[0].partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200") and body == response.content
        WRITES.clear()
        head_only = client.head("/json")
        assert head_only.status_code == 200 and head_only.content == b""
        assert len(WRITES) == 1 and WRITES[0].endswith(b"\r\n\r\n")


def test_a_streamed_answer_goes_out_chunk_by_chunk(server: str) -> None:
    WRITES.clear()
    with httpx.Client(base_url=server) as client, client.stream("GET", "/sse") as response:
        arrivals = [(time.monotonic(), line) for line in response.iter_lines() if line]
    assert [line for _, line in arrivals] == [
        "data: Paris",
        "data:  is",
        "data:  the",
        "data:  capital",
    ]
    # Each chunk left when it was made (~50 ms apart), not held until the end.
    assert arrivals[-1][0] - arrivals[0][0] > 0.1
    assert len(WRITES) >= 4


def test_a_client_that_closes_after_its_request_gets_the_whole_answer(server: str) -> None:
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200") and received.endswith(b'"n":0}')
