"""A server on 127.0.0.1 speaking Weaviate's REST and GraphQL API for the calls remote::weaviate
makes, with real search semantics (nearVector by cosine distance, BM25 over `word` tokens).

No Weaviate server can be installed on the machines this suite runs on (it is neither on PyPI
nor in Debian; its embedded mode downloads a binary), so the provider is tested against this.
Paths, bodies and answers follow Weaviate's REST reference (/v1/schema, /v1/batch/objects POST
and DELETE with a where filter) and GraphQL reference (Get with nearVector, bm25, where, limit,
offset; _additional id, vector, distance, score as a string); cosine classes keep vectors
normalized, as Weaviate does. GraphQL is parsed with graphql-core.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from graphql import parse, value_from_ast_untyped

from tests.support.stub_server import free_port, serve_in_thread, stop_serving

_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # Weaviate's `word` tokenization: alphanumerics
_K1, _B = 1.2, 0.75


def _tokens(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text or "")]


def _matches(obj: dict[str, Any], where: dict[str, Any]) -> bool:
    (prop,) = where["path"]
    value = obj["id"] if prop == "id" else obj["properties"].get(prop)
    if where["operator"] == "Equal":
        return bool(value == where["valueText"])
    if where["operator"] == "ContainsAny":
        return value in where["valueTextArray"]
    raise ValueError(f"operator {where['operator']} is not served by this test server")


class WeaviateServer:
    """`with WeaviateServer(api_key=...) as w:` serves w.url; classes live in `classes`."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.classes: dict[str, dict[str, Any]] = {}  # name -> {"definition", "objects"}
        self._lock = threading.Lock()

    def __enter__(self) -> WeaviateServer:
        self._server, self._thread = serve_in_thread(self._app(), self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        stop_serving(self._server, self._thread)

    # -- GraphQL Get

    def _get(self, query: str) -> dict[str, Any]:
        field = parse(query).definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
        out: dict[str, Any] = {}
        for selection in field.selection_set.selections:
            name = selection.name.value
            if name not in self.classes:
                return {
                    "data": {"Get": None},
                    "errors": [
                        {"message": f'Cannot query field "{name}" on type "GetObjectsObj".'}
                    ],
                }
            args = {a.name.value: value_from_ast_untyped(a.value) for a in selection.arguments}
            fields = selection.selection_set.selections
            wanted = [f.name.value for f in fields if f.name.value != "_additional"]
            extra = [f for f in fields if f.name.value == "_additional"]
            additional = [f.name.value for f in extra[0].selection_set.selections] if extra else []
            out[name] = [self._shape(o, s, wanted, additional) for o, s in self._find(name, args)]
        return {"data": {"Get": out}}

    def _find(self, name: str, args: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        objects = list(self.classes[name]["objects"].values())
        if "where" in args:
            objects = [o for o in objects if _matches(o, args["where"])]
        if "nearVector" in args:
            query = _unit(args["nearVector"]["vector"])
            scored = [
                (o, {"distance": 1 - sum(a * b for a, b in zip(query, o["vector"], strict=True))})
                for o in objects
            ]
            scored.sort(key=lambda p: p[1]["distance"])
        elif "bm25" in args:
            (prop,) = args["bm25"]["properties"]
            docs = {o["id"]: _tokens(o["properties"].get(prop, "")) for o in objects}
            scores = _bm25(_tokens(args["bm25"]["query"]), docs)
            scored = [(o, {"score": str(scores[o["id"]])}) for o in objects if o["id"] in scores]
            scored.sort(key=lambda p: -float(p[1]["score"]))
        else:
            scored = [(o, {}) for o in sorted(objects, key=lambda o: o["id"])]
        offset = int(args.get("offset", 0))
        return scored[offset : offset + int(args.get("limit", 10))]

    @staticmethod
    def _shape(
        obj: dict[str, Any], meta: dict[str, Any], wanted: list[str], additional: list[str]
    ) -> dict[str, Any]:
        shaped = {k: obj["properties"].get(k) for k in wanted}
        extra = {"id": obj["id"], "vector": obj["vector"], **meta}
        shaped["_additional"] = {k: extra.get(k) for k in additional}
        return shaped

    # -- REST

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def auth(request: Request, call_next: Any) -> Response:
            if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse(
                    {"code": 401, "message": "unauthorized: invalid api key"}, status_code=401
                )
            return await call_next(request)

        @app.get("/v1/schema/{name}")
        async def get_class(name: str) -> Response:
            found = self.classes.get(name)
            return JSONResponse(found["definition"]) if found else Response(status_code=404)

        @app.post("/v1/schema")
        async def create_class(request: Request) -> Response:
            definition = await request.json()
            name = definition["class"]
            with self._lock:
                if name in self.classes:
                    message = f'class name "{name}" already exists'
                    return JSONResponse({"error": [{"message": message}]}, status_code=422)
                self.classes[name] = {"definition": definition, "objects": {}}
            return JSONResponse(definition)

        @app.delete("/v1/schema/{name}")
        async def delete_class(name: str) -> Response:
            self.classes.pop(name, None)
            return Response(status_code=200)

        @app.post("/v1/batch/objects")
        async def batch(request: Request) -> Response:
            answers = []
            with self._lock:
                for obj in (await request.json())["objects"]:
                    target = self.classes.get(obj["class"])
                    if target is None:
                        error = {"error": [{"message": f"class {obj['class']} not present"}]}
                        answers.append({**obj, "result": {"errors": error}})
                        continue
                    stored = {
                        "id": obj["id"],
                        "properties": obj["properties"],
                        "vector": _unit(obj["vector"]),
                    }
                    target["objects"][obj["id"]] = stored
                    answers.append({**obj, "result": {}})
            return JSONResponse(answers)

        @app.delete("/v1/batch/objects")
        async def batch_delete(request: Request) -> Response:
            body = await request.json()
            match = body["match"]
            target = self.classes.get(match["class"])
            if target is None:
                return JSONResponse(
                    {"error": [{"message": f"class {match['class']} not found"}]}, status_code=422
                )
            with self._lock:
                gone = [i for i, o in target["objects"].items() if _matches(o, match["where"])][
                    :10_000
                ]
                for object_id in gone:
                    del target["objects"][object_id]
            results = {"matches": len(gone), "limit": 10_000, "successful": len(gone), "failed": 0}
            return JSONResponse(
                {
                    "match": match,
                    "output": body.get("output", "minimal"),
                    "dryRun": False,
                    "results": results,
                }
            )

        @app.post("/v1/graphql")
        async def graphql(request: Request) -> Response:
            return JSONResponse(self._get((await request.json())["query"]))

        return app


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _bm25(terms: list[str], docs: dict[str, list[str]]) -> dict[str, float]:
    """BM25 (Weaviate's k1 = 1.2, b = 0.75) of the docs holding a term."""
    if not docs:
        return {}
    avg = sum(len(t) for t in docs.values()) / len(docs) or 1.0
    counts = {i: Counter(t) for i, t in docs.items()}
    scores = {}
    for doc_id, count in counts.items():
        score = 0.0
        for term in set(terms):
            if count[term]:
                n = sum(1 for c in counts.values() if c[term])
                idf = math.log(1 + (len(docs) - n + 0.5) / (n + 0.5))
                norm = _K1 * (1 - _B + _B * len(docs[doc_id]) / avg)
                score += idf * count[term] * (_K1 + 1) / (count[term] + norm)
        if score > 0:
            scores[doc_id] = score
    return scores
