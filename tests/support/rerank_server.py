"""A stub OpenAI-compatible server that also reranks: Cohere/vLLM/Jina and NVIDIA shapes."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request

from tests.support.stub_server import StubOpenAIServer


def word_overlap(query: str, document: str) -> float:
    """The stub's relevance: the share of the query's distinct words found in the document."""
    words = set(re.findall(r"\w+", query.lower()))
    found = set(re.findall(r"\w+", document.lower()))
    return len(words & found) / len(words) if words else 0.0


class StubRerankServer(StubOpenAIServer):
    """Chat and embeddings as StubOpenAIServer; POST /v1/rerank (results[{index,
    relevance_score}], top_n) and POST /v1/ranking (NVIDIA: rankings[{index, logit}])."""

    def __enter__(self) -> StubRerankServer:
        super().__enter__()
        return self

    def _app(self) -> FastAPI:
        app = super()._app()

        @app.post("/v1/rerank")
        async def rerank(request: Request) -> dict[str, Any]:
            body = await request.json()
            scores = [word_overlap(body["query"], d) for d in body["documents"]]
            order = sorted(range(len(scores)), key=lambda i: -scores[i])[: body.get("top_n")]
            results = [
                {
                    "index": i,
                    "relevance_score": scores[i],
                    "document": {"text": body["documents"][i]},
                }
                for i in order
            ]
            return {"id": "rerank-stub", "model": body["model"], "results": results}

        @app.post("/v1/ranking")
        async def ranking(request: Request) -> dict[str, Any]:
            body = await request.json()
            query = body["query"]["text"]
            logits = [10 * word_overlap(query, p["text"]) - 5 for p in body["passages"]]
            order = sorted(range(len(logits)), key=lambda i: -logits[i])
            return {"rankings": [{"index": i, "logit": logits[i]} for i in order]}

        return app
