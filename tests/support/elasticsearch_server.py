"""A server on 127.0.0.1 speaking Elasticsearch's REST API for the calls remote::elasticsearch
makes, with real search semantics (exact kNN by cosine, BM25 over lowercased words).

No Elasticsearch server can be installed on the machines this suite runs on (it is neither on
PyPI nor in Debian), so the official client is tested against this. Paths, parameters, bodies,
error objects and the X-Elastic-Product header follow the Elasticsearch REST API reference
(index APIs, _bulk, _search with knn / match / term / sort + search_after, _delete_by_query).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support.stub_server import free_port, serve_in_thread, stop_serving

_WORD = re.compile(r"\w+", re.UNICODE)
_K1, _B = 1.2, 0.75  # Elasticsearch's BM25 defaults
_JSON = "application/vnd.elasticsearch+json;compatible-with=9"


def _tokens(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text or "")]


def _reply(body: Any, status: int = 200) -> Response:
    headers = {"X-Elastic-Product": "Elasticsearch"}
    return JSONResponse(body, status_code=status, headers=headers, media_type=_JSON)


def _error(status: int, kind: str, reason: str, **extra: Any) -> Response:
    cause = {"type": kind, "reason": reason, **extra}
    return _reply({"error": {"root_cause": [cause], **cause}, "status": status}, status)


def _missing(index: str) -> Response:
    return _error(404, "index_not_found_exception", f"no such index [{index}]", index=index)


class ElasticsearchServer:
    """`with ElasticsearchServer(api_key=...) as es:` serves es.url; `requests` logs each call."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.indices: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> ElasticsearchServer:
        self._server, self._thread = serve_in_thread(self._app(), self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        stop_serving(self._server, self._thread)

    # -- the engine

    def _search(self, index: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
        docs = index["docs"]
        if "knn" in body:
            knn = body["knn"]
            query = knn["query_vector"]
            scored = [(i, (1 + _cosine(query, d[knn["field"]])) / 2) for i, d in docs.items()]
            scored.sort(key=lambda p: -p[1])
            hits = scored[: knn["k"]]
        else:
            query = body.get("query", {"match_all": {}})
            hits = self._query(docs, query)
            if "sort" in body:
                (field, order), = body["sort"][0].items()  # fmt: skip
                hits.sort(key=lambda p: docs[p[0]][field], reverse=order == "desc")
                after = body.get("search_after")
                if after:
                    hits = [h for h in hits if docs[h[0]][field] > after[0]]
            else:
                hits.sort(key=lambda p: -p[1])
        hits = hits[: body.get("size", 10)]
        fields = body.get("_source")
        out = []
        for doc_id, score in hits:
            source = docs[doc_id]
            if isinstance(fields, list):
                source = {k: v for k, v in source.items() if k in fields}
            hit = {"_index": index["name"], "_id": doc_id, "_score": score, "_source": source}
            if "sort" in body:
                field = next(iter(body["sort"][0]))
                hit["sort"] = [docs[doc_id][field]]
                hit["_score"] = None
            out.append(hit)
        return out

    def _query(self, docs: dict[str, Any], query: dict[str, Any]) -> list[tuple[str, float]]:
        (kind, spec), = query.items()  # fmt: skip
        if kind == "match_all":
            return [(i, 1.0) for i in docs]
        if kind == "term":
            (field, value), = spec.items()  # fmt: skip
            value = value["value"] if isinstance(value, dict) else value
            return [(i, 1.0) for i, d in docs.items() if d.get(field) == value]
        if kind == "match":
            (field, value), = spec.items()  # fmt: skip
            text = value["query"] if isinstance(value, dict) else value
            return _bm25(_tokens(text), {i: _tokens(d.get(field, "")) for i, d in docs.items()})
        raise ValueError(f"query type [{kind}] is not served by this test server")

    # -- the REST API

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def auth(request: Request, call_next: Any) -> Response:
            self.requests.append((request.method, request.url.path))
            if self.api_key and request.headers.get("authorization") != f"ApiKey {self.api_key}":
                return _error(
                    401, "security_exception", "unable to authenticate with provided credentials"
                )
            return await call_next(request)

        # Before the /{index} routes: PUT /_bulk is not an index.
        @app.api_route("/_bulk", methods=["POST", "PUT"])
        async def bulk(request: Request) -> Response:
            lines = [
                json.loads(x) for x in (await request.body()).decode().splitlines() if x.strip()
            ]
            items, errors, i = [], False, 0
            with self._lock:
                while i < len(lines):
                    (action, meta), = lines[i].items()  # fmt: skip
                    index = self.indices.get(meta["_index"])
                    item = {"_index": meta["_index"], "_id": meta["_id"]}
                    if action == "index":
                        source, i = lines[i + 1], i + 2
                        if index is None:
                            errors = True
                            item |= {"status": 404, "error": {"type": "index_not_found_exception"}}
                        else:
                            created = meta["_id"] not in index["docs"]
                            index["docs"][meta["_id"]] = source
                            item |= {
                                "status": 201 if created else 200,
                                "result": "created" if created else "updated",
                            }
                    else:  # delete
                        i += 1
                        found = (
                            index is not None and index["docs"].pop(meta["_id"], None) is not None
                        )
                        item |= {
                            "status": 200 if found else 404,
                            "result": "deleted" if found else "not_found",
                        }
                        errors = errors or index is None
                    items.append({action: item})
            return _reply({"took": 1, "errors": errors, "items": items})

        @app.head("/{index}")
        async def exists(index: str) -> Response:
            return Response(
                status_code=200 if index in self.indices else 404,
                headers={"X-Elastic-Product": "Elasticsearch"},
            )

        @app.put("/{index}")
        async def create(index: str, request: Request) -> Response:
            body = await request.json()
            with self._lock:
                if index in self.indices:
                    reason = f"index [{index}/abc] already exists"
                    return _error(400, "resource_already_exists_exception", reason, index=index)
                self.indices[index] = {
                    "name": index,
                    "mappings": body.get("mappings", {}),
                    "docs": {},
                }
            return _reply({"acknowledged": True, "shards_acknowledged": True, "index": index})

        @app.get("/{index}/_mapping")
        async def mapping(index: str) -> Response:
            if index not in self.indices:
                return _missing(index)
            return _reply({index: {"mappings": self.indices[index]["mappings"]}})

        @app.delete("/{index}")
        async def delete(index: str, request: Request) -> Response:
            if (
                index not in self.indices
                and request.query_params.get("ignore_unavailable") != "true"
            ):
                return _missing(index)
            self.indices.pop(index, None)
            return _reply({"acknowledged": True})

        @app.post("/{index}/_search")
        async def search(index: str, request: Request) -> Response:
            if index not in self.indices:
                return _missing(index)
            hits = self._search(self.indices[index], await request.json())
            scores = [h["_score"] for h in hits if h["_score"] is not None]
            total = {"value": len(hits), "relation": "eq"}
            body = {"hits": {"total": total, "max_score": max(scores, default=None), "hits": hits}}
            return _reply(
                {
                    "took": 1,
                    "timed_out": False,
                    "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                    **body,
                }
            )

        @app.post("/{index}/_delete_by_query")
        async def delete_by_query(index: str, request: Request) -> Response:
            if index not in self.indices:
                return _missing(index)
            docs = self.indices[index]["docs"]
            gone = [i for i, _ in self._query(docs, (await request.json())["query"])]
            for doc_id in gone:
                docs.pop(doc_id, None)
            return _reply(
                {
                    "took": 1,
                    "timed_out": False,
                    "total": len(gone),
                    "deleted": len(gone),
                    "failures": [],
                }
            )

        return app


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _bm25(terms: list[str], docs: dict[str, list[str]]) -> list[tuple[str, float]]:
    """Lucene's BM25 (Elasticsearch's default similarity) of the docs holding a term."""
    if not docs:
        return []
    avg = sum(len(t) for t in docs.values()) / len(docs) or 1.0
    counts = {i: Counter(t) for i, t in docs.items()}
    out = []
    for doc_id, count in counts.items():
        score = 0.0
        for term in set(terms):
            freq = count[term]
            if freq:
                n = sum(1 for c in counts.values() if c[term])
                idf = math.log(1 + (len(docs) - n + 0.5) / (n + 0.5))
                score += idf * freq / (freq + _K1 * (1 - _B + _B * len(docs[doc_id]) / avg))
        if score > 0:
            out.append((doc_id, score))
    return out
