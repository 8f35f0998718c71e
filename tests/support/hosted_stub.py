"""The frame of a hosted service's stand-in on 127.0.0.1: requests kept, failures scripted.

Each service's module (anthropic_api.py, watsonx_api.py, ...) adds the routes of its documented
protocol; the services themselves can't be reached from the machines this suite runs on.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support.stub_server import free_port, serve_in_thread, stop_serving


@dataclass
class Failure:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class HostedStub:
    """`with HostedStub(routes) as s:` serves `routes(s, app)` at s.url until the block ends.

    Every request is kept in `requests` (method, path, query and its raw string, headers, raw and JSON body); a
    failure queued with `fail_next` answers the next request that passes the service's checks.
    """

    def __init__(self, routes: Callable[[HostedStub, FastAPI], None]) -> None:
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self._routes = routes
        self._failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(
        self, status: int, body: Any, headers: dict[str, str] | None = None, times: int = 1
    ) -> None:
        with self._lock:
            self._failures.extend(Failure(status, body, headers or {}) for _ in range(times))

    def __enter__(self) -> HostedStub:
        app = FastAPI()
        self._routes(self, app)
        self._server, self._thread = serve_in_thread(app, self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        stop_serving(self._server, self._thread)

    async def record(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        entry = {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "query_string": request.url.query,
            "headers": dict(request.headers),
            "raw": raw,
            "body": body,
        }
        self.requests.append(entry)
        return entry

    def scripted(self) -> Response | None:
        """The next scripted failure, if one is queued."""
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is None:
            return None
        return JSONResponse(failure.body, status_code=failure.status, headers=failure.headers)


def sse(event: str | None, data: dict[str, Any]) -> str:
    """One server-sent event."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n"
