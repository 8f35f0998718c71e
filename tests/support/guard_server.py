"""A real OpenAI-compatible server on 127.0.0.1 that answers like Llama Guard 3 (by keywords)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support.stub_server import StubOpenAIServer, stub_stack_config

GUARD_MODEL = "Llama-Guard-3-8B"

# What the last turn must mention to be flagged, and the category it is flagged for.
RULES: dict[str, str] = {
    "weapon": "S1",
    "counterfeit": "S2",
    "nerve agent": "S9",
    "slur": "S10",
    "hurt myself": "S11",
}
# Answers that are not verdicts, to exercise the provider's parser through a real server.
ODD_ANSWERS: dict[str, str] = {
    "say maybe": "maybe",
    "say s99": "unsafe\nS99",
    "say nothing": "",
    "say hate first": "unsafe\nS10,S1",
}

_CATEGORY = re.compile(r"^(S\d+): ", re.MULTILINE)
_LAST_ROLE = re.compile(r"ONLY THE LAST (User|Agent) message")
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def guard_answer(prompt: str) -> str:
    """What Llama Guard would say: 'unsafe\\n<codes>' for listed categories the last turn hits."""
    role_match = _LAST_ROLE.search(prompt)
    if role_match is None or "<BEGIN CONVERSATION>" not in prompt:
        return "This is not a Llama Guard prompt."
    listed = set(_CATEGORY.findall(prompt.split("<END UNSAFE CONTENT CATEGORIES>")[0]))
    dialogue = prompt.split("<BEGIN CONVERSATION>")[1].split("<END CONVERSATION>")[0]
    last = dialogue[dialogue.rfind(f"{role_match.group(1)}: ") :].lower()
    for trigger, answer in ODD_ANSWERS.items():
        if trigger in last:
            return answer
    codes = [code for word, code in RULES.items() if word in last and code in listed]
    # vLLM serves Llama Guard's answer with the blank lines its chat template leaves.
    return "\n\nunsafe\n" + ",".join(codes) if codes else "\n\nsafe"


class GuardServer(StubOpenAIServer):
    """`with GuardServer() as s:` serves a Llama Guard look-alike at s.base_url.

    Chat answers are deterministic (ids and timestamps too), so recordings of them are stable.
    Every request is kept in `s.requests`; `s.prompts` are the guard prompts received.
    """

    def __init__(self, models: list[str] | None = None) -> None:
        super().__init__(models=models if models is not None else [GUARD_MODEL])

    def __enter__(self) -> GuardServer:
        super().__enter__()
        return self

    @property
    def prompts(self) -> list[str]:
        return [
            str(r["body"]["messages"][-1]["content"])
            for r in self.requests
            if r["path"].endswith("/chat/completions")
        ]

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def keep(request: Request, call_next: Any) -> Response:
            body = await request.body()
            self.requests.append(
                {"path": request.url.path, "body": json.loads(body) if body else None}
            )
            response: Response = await call_next(request)
            return response

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            data = [{"id": m, "object": "model", "owned_by": "guard"} for m in self.models]
            return {"object": "list", "data": data}

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            if body["model"] not in self.models:
                error = {"error": {"message": f"model {body['model']} does not exist"}}
                return JSONResponse(error, status_code=404)
            answer = guard_answer(str(body["messages"][-1]["content"]))
            return JSONResponse(_completion(body, *_budget(answer, body.get("max_tokens"))))

        return app


def _budget(answer: str, max_tokens: int | None) -> tuple[str, str]:
    """The answer cut at `max_tokens` (counting words, separators and blank runs as tokens)."""
    tokens = _TOKEN.findall(answer)
    if max_tokens is None or len(tokens) <= max_tokens:
        return answer, "stop"
    return "".join(tokens[:max_tokens]), "length"


def _completion(body: dict[str, Any], answer: str, finish_reason: str) -> dict[str, Any]:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
    tokens = len(answer.split())
    return {
        "id": f"chatcmpl-guard-{digest}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 200, "completion_tokens": tokens, "total_tokens": 200 + tokens},
    }


def guard_stack_config(
    base_url: str, data_dir: Path, *, guard_config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """vLLM (the guard server) for inference, inline::llama-guard with two shields over it."""
    config = stub_stack_config(
        base_url,
        data_dir,
        provider_id="vllm",
        provider_config={"embedding_models": {"embedder": 3}},
        apis=["inference", "safety"],
    )
    config["providers"]["safety"] = [
        {
            "provider_id": "guard",
            "provider_type": "inline::llama-guard",
            "config": guard_config or {},
        }
    ]
    config["registered_resources"] = {
        "shields": [
            {"shield_id": "llama-guard", "provider_id": "guard", "provider_shield_id": GUARD_MODEL},
            {
                "shield_id": "guard-no-violence",
                "provider_id": "guard",
                "provider_shield_id": f"vllm/{GUARD_MODEL}",
                "params": {"excluded_categories": ["S1"]},
            },
        ]
    }
    return config
