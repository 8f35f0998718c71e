"""A minimal OpenAI-compatible HTTP/1.1 server that answers in microseconds (a benchmark floor).

Run as a separate process: `python bench/fast_stub.py PORT [DELAY_MS]`. Keep-alive, TCP_NODELAY
(no Nagle/delayed-ACK stalls), fixed answers; streamed answers are SSE in chunked encoding.
DELAY_MS makes every chat answer take that long (a model server's latency) without blocking.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys

MODEL = "stub-model"
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Paris."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
).encode()
MODELS = json.dumps(
    {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "stub"}]}
).encode()


def _sse() -> bytes:
    parts = []
    for i, word in enumerate(["Paris", " is", " the", " capital", "."]):
        delta = {"role": "assistant", "content": word} if i == 0 else {"content": word}
        chunk = {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        parts.append(f"data: {json.dumps(chunk)}\n\n".encode())
    last = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    parts.append(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


STREAM = _sse()
DELAY_S = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0


class Handler(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4 : head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length :]
            path = head.split(" ", 2)[1]
            if DELAY_S and not path.endswith("/models"):
                asyncio.get_running_loop().call_later(DELAY_S, self.respond, path, body)
            else:
                self.respond(path, body)

    def respond(self, path: str, body: bytes) -> None:
        write = self.transport.write  # type: ignore[attr-defined]
        if path.endswith("/models"):
            payload = MODELS
        elif b'"stream":true' in body.replace(b" ", b""):
            write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                + STREAM
            )
            return
        else:
            payload = COMPLETION
        write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (len(payload), payload)
        )


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Handler, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
