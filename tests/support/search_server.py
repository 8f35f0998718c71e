"""A search service stub on 127.0.0.1 speaking Brave's, Tavily's, Bing's and Wolfram|Alpha's
documented HTTP APIs (paths, where each takes its key, answer and error shapes).

The answers are written in the shapes the services document (Brave Web Search API "responses"
reference, Tavily's /search reference, Bing Web Search API v7 response objects, Wolfram|Alpha
Full Results API with output=json): these hosted APIs can't be reached from the machines this
suite runs on.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support.stub_server import free_port, serve_in_thread, stop_serving

KEY = "test-search-key"


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def brave_answer(query: str) -> dict[str, Any]:
    """GET /res/v1/web/search: `mixed.main` ranks entries that point into `web`, `news`, ..."""
    web = [
        {
            "type": "search_result",
            "subtype": "generic",
            "title": f"{query} - Result {n}",
            "url": f"https://example.org/{n}",
            "description": f"About <strong>{query}</strong>, part {n}.",
            "is_source_local": False,
            "language": "en",
            "family_friendly": True,
            "age": "2 days ago",
            "meta_url": {"scheme": "https", "netloc": "example.org", "hostname": "example.org"},
            "extra_snippets": [f"snippet {n}"],
        }
        for n in range(1, 5)
    ]
    news = [{"type": "news_result", "title": "News", "url": "https://news.example/1", "age": "1h"}]
    main = [{"type": "web", "index": i, "all": False} for i in range(2)]
    main.insert(1, {"type": "news", "all": True})
    return {
        "type": "search",
        "query": {"original": query, "more_results_available": True},
        "mixed": {"type": "mixed", "main": main, "top": [], "side": []},
        "web": {"type": "search", "results": web, "family_friendly": True},
        "news": {"type": "news", "results": news},
    }


def tavily_answer(query: str, max_results: int) -> dict[str, Any]:
    results = [
        {
            "title": f"{query} - Result {n}",
            "url": f"https://example.org/{n}",
            "content": f"About {query}, part {n}.",
            "score": round(0.99 - n / 100, 2),
            "raw_content": None,
        }
        for n in range(1, max_results + 1)
    ]
    return {
        "query": query,
        "follow_up_questions": None,
        "answer": None,
        "images": [],
        "results": results,
        "response_time": 0.42,
        "request_id": "123e4567-e89b-12d3-a456-426614174111",
    }


def bing_answer(query: str, count: int) -> dict[str, Any]:
    pages = [
        {
            "id": f"https://api.bing.microsoft.com/api/v7/#WebPages.{n}",
            "name": f"{query} - Result {n}",
            "url": f"https://example.org/{n}",
            "displayUrl": f"example.org/{n}",
            "snippet": f"About <b>{query}</b>, part {n}.",
            "dateLastCrawled": "2025-01-01T00:00:00.0000000Z",
            "language": "en",
            "isNavigational": False,
        }
        for n in range(1, count + 1)
    ]
    news = [
        {
            "name": "News",
            "url": "https://news.example/1",
            "description": f"{query} in the news.",
            "datePublished": "2025-01-01T00:00:00.0000000Z",
            "provider": [{"_type": "Organization", "name": "Example News"}],
        }
    ]
    return {
        "_type": "SearchResponse",
        "queryContext": {"originalQuery": query},
        "webPages": {
            "webSearchUrl": "https://www.bing.com/search?q=x",
            "totalEstimatedMatches": 1000,
            "value": pages,
        },
        "news": {"id": "https://api.bing.microsoft.com/api/v7/#News", "value": news},
        "rankingResponse": {"mainline": {"items": []}},
    }


def wolfram_answer(query: str) -> dict[str, Any]:
    def pod(title: str, text: str, position: int) -> dict[str, Any]:
        return {
            "title": title,
            "scanner": "Simplification",
            "id": title.replace(" ", ""),
            "position": position,
            "error": False,
            "numsubpods": 1,
            "primary": title == "Result",
            "subpods": [{"title": "", "plaintext": text}],
            "expressiontypes": {"name": "Default"},
        }

    return {
        "queryresult": {
            "success": True,
            "error": False,
            "numpods": 3,
            "datatypes": "Math",
            "timedout": "",
            "timedoutpods": "",
            "timing": 0.61,
            "parsetiming": 0.12,
            "parsetimedout": False,
            "recalculate": "",
            "id": "MSP1234",
            "host": "https://www6b3.wolframalpha.com",
            "server": "6",
            "related": "https://www6b3.wolframalpha.com/api/v1/relatedQueries.jsp?id=x",
            "version": "2.6",
            "inputstring": query,
            "pods": [
                pod("Input", query, 100),
                pod("Result", "4", 200),
                pod("Number name", "four", 300),
            ],
        }
    }


class StubSearchServer:
    """`with StubSearchServer() as s:` serves the four APIs at s.base_url until the block ends.

    Requests are kept in `requests` (path, query, headers, body); a wrong key gets each
    service's own 401 answer (Wolfram|Alpha's: 200 with error code 1); failures queued with
    `fail_next` are served first.
    """

    def __init__(self, api_key: str = KEY) -> None:
        self.api_key = api_key
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self._failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        with self._lock:
            self._failures.append(Failure(status, body, headers or {}))

    def __enter__(self) -> StubSearchServer:
        self._server, self._thread = serve_in_thread(self._app(), self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        stop_serving(self._server, self._thread)

    async def _record(self, request: Request) -> Failure | None:
        raw = await request.body()
        self.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "headers": dict(request.headers),
                "body": json.loads(raw) if raw else None,
            }
        )
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/res/v1/web/search")
        async def brave(request: Request) -> Response:
            failure = await self._record(request)
            if request.headers.get("x-subscription-token") != self.api_key:
                error = {"id": "e1", "status": 401, "code": "SUBSCRIPTION_TOKEN_INVALID"}
                error["detail"] = "The provided subscription token is invalid."
                return JSONResponse({"type": "ErrorResponse", "error": error}, status_code=401)
            return _answer(failure) or JSONResponse(brave_answer(request.query_params["q"]))

        @app.post("/search")
        async def tavily(request: Request) -> Response:
            failure = await self._record(request)
            body = await request.json()
            if body.get("api_key") != self.api_key:
                detail = {"error": "Unauthorized: missing or invalid API key."}
                return JSONResponse({"detail": detail}, status_code=401)
            answer = tavily_answer(body["query"], int(body.get("max_results", 5)))
            return _answer(failure) or JSONResponse(answer)

        @app.get("/v7.0/search")
        async def bing(request: Request) -> Response:
            failure = await self._record(request)
            if request.headers.get("ocp-apim-subscription-key") != self.api_key:
                error = {"code": "401", "message": "Access denied due to invalid subscription key."}
                return JSONResponse({"error": error}, status_code=401)
            params = request.query_params
            answer = bing_answer(params["q"], int(params.get("count", 10)))
            return _answer(failure) or JSONResponse(answer)

        @app.get("/v2/query")
        async def wolfram(request: Request) -> Response:
            failure = await self._record(request)
            if request.query_params.get("appid") != self.api_key:
                error = {"code": "1", "msg": "Invalid appid"}
                return JSONResponse(
                    {"queryresult": {"success": False, "error": error, "numpods": 0}}
                )
            return _answer(failure) or JSONResponse(wolfram_answer(request.query_params["input"]))

        return app


def _answer(failure: Failure | None) -> Response | None:
    if failure is None:
        return None
    return JSONResponse(failure.body, status_code=failure.status, headers=failure.headers)
