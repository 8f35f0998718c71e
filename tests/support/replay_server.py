"""A server on 127.0.0.1 that replays a cassette: recorded exchanges, answered in order.

A cassette is JSON: {"comment": where its shapes come from, "exchanges": [{"request": {...},
"response": {...}}]}. Each request must match its exchange (method, path, the recorded query
parameters, and the recorded body as a subset of the one sent, JSON or NDJSON line by line);
a mismatch is answered 599 and kept in `mismatches`, so a test sees what its client sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from tests.support.stub_server import free_port, serve_in_thread, stop_serving


def contains(sent: Any, recorded: Any) -> bool:
    """Whether `recorded` is `sent` with some dict keys left out (recursively)."""
    if isinstance(recorded, dict):
        return isinstance(sent, dict) and all(
            k in sent and contains(sent[k], v) for k, v in recorded.items()
        )
    if isinstance(recorded, list):
        return (
            isinstance(sent, list)
            and len(sent) == len(recorded)
            and all(contains(s, r) for s, r in zip(sent, recorded, strict=True))
        )
    return bool(sent == recorded)


class ReplayServer:
    """`with ReplayServer(path) as r:` serves r.url; `done()` says every exchange was asked."""

    def __init__(self, cassette: Path) -> None:
        data = json.loads(cassette.read_text(encoding="utf-8"))
        self.exchanges: list[dict[str, Any]] = data["exchanges"]
        self.served = 0
        self.mismatches: list[str] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ReplayServer:
        self._server, self._thread = serve_in_thread(self._app(), self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        stop_serving(self._server, self._thread)

    def done(self) -> bool:
        return self.served == len(self.exchanges) and not self.mismatches

    def _mismatch(self, method: str, path: str, query: dict[str, str], body: bytes) -> str | None:
        if self.served >= len(self.exchanges):
            return f"{method} {path}: no exchange left in the cassette"
        want = self.exchanges[self.served]["request"]
        if (method, path) != (want["method"], want["path"]):
            return f"{method} {path}: the cassette expects {want['method']} {want['path']}"
        if not contains(query, want.get("query", {})):
            return f"{method} {path}: query {query} lacks {want.get('query')}"
        if "json" in want and not contains(json.loads(body or b"null"), want["json"]):
            return f"{method} {path}: body {body[:300]!r} does not hold {want['json']}"
        if "ndjson" in want:
            lines = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
            if not contains(lines, want["ndjson"]):
                return f"{method} {path}: NDJSON {lines} does not hold {want['ndjson']}"
        return None

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"])
        async def replay(path: str, request: Request) -> Response:
            body = await request.body()
            query = dict(request.query_params)
            problem = self._mismatch(request.method, "/" + path, query, body)
            if problem is not None:
                self.mismatches.append(problem)
                return Response(problem, status_code=599)
            answer = self.exchanges[self.served]["response"]
            self.served += 1
            content = b"" if answer.get("body") is None else json.dumps(answer["body"]).encode()
            return Response(
                content, status_code=answer["status"], headers=answer.get("headers", {})
            )

        return app
