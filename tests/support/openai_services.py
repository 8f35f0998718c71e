"""Stand-ins on 127.0.0.1 for the hosted services that speak OpenAI's protocol (Gemini, Azure
OpenAI, SambaNova, Cerebras, Databricks, RunPod, the Llama API, NVIDIA), each at its own paths,
with its own key header and error shape; the services can't be reached from the test machines.

Where each shape comes from:
- chat completions, chunks (SSE), tool calls, embeddings, model lists: OpenAI's API reference,
  which every one of these services documents itself as compatible with;
- Azure OpenAI: its REST reference (/openai/deployments/{deployment}/... with the api-version
  query parameter, or /openai/v1/...; the `api-key` header; errors as {"error": {"code",
  "message"}}) and its content-filtering page (a first stream event with no choices, object ""
  and prompt_filter_results; content_filter_results on each choice);
- Databricks: its REST reference (GET /api/2.0/serving-endpoints -> {"endpoints": [{"name",
  "task", "state", ...}]}; errors as {"error_code", "message"}); chat under /serving-endpoints;
- NVIDIA: its embedding NIM reference (`input_type` query|passage, required by asymmetric
  models: a 400 without it) and ranking reference ({query: {text}, passages} -> rankings);
- Gemini: its OpenAI-compatibility page (base .../v1beta/openai, bearer key, models listed as
  models/<name>, tool calls carrying extra_content.google.thought_signature); not documented
  but what it answers, as reported in public issue threads: a wrong key is a 400
  INVALID_ARGUMENT with reason API_KEY_INVALID, error bodies are a list of one {"error": {...}},
  streamed tool calls come whole without `index`, and a turn that called tools ends with
  finish_reason "stop"; its embeddings carry no usage.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.support.stub_server import free_port, serve_in_thread, stop_serving

KEY = "sk-service-key"
FILTER = {"hate": {"filtered": False, "severity": "safe"}}


@dataclass(frozen=True)
class Service:
    """How one service differs: where OpenAI's routes live, its key header, its errors."""

    name: str  # the provider type's suffix (remote::<name>)
    prefix: str  # path of its OpenAI-compatible routes; {model} for Azure's deployments
    models: tuple[str, ...]
    embedding_model: str | None = None
    key_header: str = "authorization"  # "api-key" for Azure
    api_version: str | None = None  # required query parameter (Azure's deployments API)
    real_base: str = ""  # the service's own base URL (cassettes replay under its paths)
    extra_config: dict[str, Any] = field(default_factory=dict)

    def error(self, status: int, message: str) -> Any:
        code = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND"}
        if self.name == "gemini":
            inner = {"code": status, "message": message, "status": code.get(status, "INTERNAL")}
            return [{"error": inner}]
        if self.name == "azure":
            return {"error": {"code": str(status), "message": message}}
        if self.name == "databricks":
            return {"error_code": code.get(status, "INTERNAL_ERROR"), "message": message}
        return {"error": {"message": message, "type": "invalid_request_error", "code": status}}


SERVICES = {
    s.name if s.api_version is None else "azure-deployments": s
    for s in (
        Service(
            "gemini",
            "/v1beta/openai",
            ("models/gemini-2.0-flash", "models/text-embedding-004"),
            "models/text-embedding-004",
            real_base="https://generativelanguage.googleapis.com/v1beta/openai",
        ),
        Service(
            "azure",
            "/openai/v1",
            ("gpt-4o-mini", "text-embedding-3-small"),
            "text-embedding-3-small",
            key_header="api-key",
            real_base="https://contoso.openai.azure.com/openai/v1",
            extra_config={"embedding_models": {"text-embedding-3-small": 4}},
        ),
        Service(
            "azure",
            "/openai/deployments/{model}",
            ("chat-deployment", "embed-deployment"),
            "embed-deployment",
            key_header="api-key",
            api_version="2024-10-21",
            real_base="https://contoso.openai.azure.com",
            extra_config={"api_version": "2024-10-21", "models": ["chat-deployment"]},
        ),
        Service(
            "sambanova",
            "/v1",
            ("Meta-Llama-3.3-70B-Instruct", "E5-Mistral-7B-Instruct"),
            "E5-Mistral-7B-Instruct",
            real_base="https://api.sambanova.ai/v1",
        ),
        Service("cerebras", "/v1", ("llama3.1-8b",), real_base="https://api.cerebras.ai/v1"),
        Service(
            "databricks",
            "/serving-endpoints",
            ("databricks-meta-llama-3-3-70b-instruct", "databricks-gte-large-en"),
            "databricks-gte-large-en",
            real_base="https://adb-1234567890123456.7.azuredatabricks.net/serving-endpoints",
        ),
        Service(
            "runpod",
            "/v2/vllm-abc123/openai/v1",
            ("meta-llama/Llama-3.1-8B-Instruct", "intfloat/e5-mistral-7b-instruct"),
            "intfloat/e5-mistral-7b-instruct",
            real_base="https://api.runpod.ai/v2/vllm-abc123/openai/v1",
            extra_config={"embedding_models": {"intfloat/e5-mistral-7b-instruct": 4}},
        ),
        Service(
            "llama-openai-compat",
            "/compat/v1",
            ("Llama-4-Maverick-17B-128E-Instruct-FP8",),
            real_base="https://api.llama.com/compat/v1",
        ),
        Service(
            "nvidia",
            "/v1",
            ("meta/llama-3.1-8b-instruct", "nvidia/nv-embedqa-e5-v5"),
            "nvidia/nv-embedqa-e5-v5",
            real_base="https://integrate.api.nvidia.com/v1",
        ),
    )
}


class ServiceStub:
    """`with ServiceStub(SERVICES["gemini"]) as s:` serves the service at s.base_url.

    Chat answers "echo: <last user text>" (streamed word by word when asked) or, when tools are
    offered, a call of the first tool with {"city": "Paris"}. Failures queued with `fail_next`
    answer the next requests (after the key check) in the service's error shape.
    """

    def __init__(self, service: Service, key: str = KEY) -> None:
        self.service, self.key, self.port = service, key, free_port()
        self.requests: list[dict[str, Any]] = []
        self._failures: deque[tuple[int, str, dict[str, str]]] = deque()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What the provider's base_url is set to (the service's own form, here)."""
        prefix = self.service.prefix
        return self.url + ("" if "{model}" in prefix else prefix)

    def fail_next(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._failures.append((status, message, headers or {}))

    def __enter__(self) -> ServiceStub:
        self._server, self._thread = serve_in_thread(self._app(), self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        stop_serving(self._server, self._thread)

    def _auth_error(self, request: Request) -> Response | None:
        # Azure takes a resource key in api-key, an Entra ID token as a bearer token.
        bearer = request.headers.get("authorization") == f"Bearer {self.key}"
        if bearer or (
            self.service.key_header == "api-key" and request.headers.get("api-key") == self.key
        ):
            return None
        if self.service.name == "gemini":  # Gemini: a 400 naming the reason
            body = self.service.error(400, "API key not valid. Please pass a valid API key.")
            body[0]["error"]["details"] = [{"reason": "API_KEY_INVALID"}]
            return JSONResponse(body, status_code=400)
        return JSONResponse(self.service.error(401, "Invalid API key provided"), 401)

    def _app(self) -> FastAPI:
        app, service = FastAPI(), self.service

        @app.middleware("http")
        async def gate(request: Request, call_next: Any) -> Response:
            raw = await request.body()
            self.requests.append(
                {
                    "path": request.url.path,
                    "query": dict(request.query_params),
                    "headers": dict(request.headers),
                    "body": json.loads(raw) if raw else None,
                }
            )
            if request.url.path.startswith("/images/"):
                return await call_next(request)
            denied = self._auth_error(request)
            if denied is not None:
                return denied
            version = request.query_params.get("api-version")
            if service.api_version is not None and version != service.api_version:
                return JSONResponse(service.error(404, "Resource not found"), 404)
            if self._failures:
                status, message, headers = self._failures.popleft()
                return JSONResponse(service.error(status, message), status, headers=headers)
            return await call_next(request)

        @app.get("/images/dot.png")
        async def image() -> Response:
            return Response(b"\x89PNG\r\n\x1a\nstub", media_type="image/png")

        @app.get("/images/page.html")
        async def page() -> Response:
            return Response("<html></html>", media_type="text/html")

        prefix = service.prefix

        @app.get("/api/2.0/serving-endpoints")  # Databricks lists its endpoints here
        async def endpoints() -> dict[str, Any]:
            return {"endpoints": [_endpoint(m) for m in service.models]}

        @app.get(f"{prefix}/models")
        async def models() -> dict[str, Any]:
            data = [{"id": m, "object": "model", "owned_by": service.name} for m in service.models]
            return {"object": "list", "data": data}

        @app.post(f"{prefix}/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            model = request.path_params.get("model") or body.get("model")
            if model not in service.models:
                return JSONResponse(service.error(404, f"model {model} not found"), 404)
            if body.get("tools"):
                call = {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": body["tools"][0]["function"]["name"],
                        "arguments": '{"city": "Paris"}',
                    },
                }
                if (
                    service.name == "gemini"
                ):  # Gemini 3 signs its calls; the next turn sends it back
                    call["extra_content"] = {"google": {"thought_signature": "sig-1"}}
                if body.get("stream"):
                    return _sse(_tool_chunks(service, model, call))
                return JSONResponse(_completion(service, model, None, call))
            text = "echo: " + _text(body["messages"][-1]["content"])
            if body.get("stream"):
                return _sse(_text_chunks(service, model, text))
            return JSONResponse(_completion(service, model, text, None))

        @app.post(f"{prefix}/completions")
        async def completions(request: Request) -> dict[str, Any]:
            body = await request.json()
            choice = {"index": 0, "text": " and more", "finish_reason": "stop"}
            usage = {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}
            return {
                "id": "cmpl-1",
                "object": "text_completion",
                "created": 1700000000,
                "model": body.get("model"),
                "choices": [choice],
                "usage": usage,
            }

        @app.post(f"{prefix}/embeddings")
        async def embeddings(request: Request) -> Response:
            body = await request.json()
            model = request.path_params.get("model") or body.get("model")
            if service.name == "nvidia" and "embedqa" in model and "input_type" not in body:
                message = "'input_type' parameter is required for asymmetric models"
                return JSONResponse(service.error(400, message), 400)
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.0, 0.5]}
                for i, t in enumerate(inputs)
            ]
            reply: dict[str, Any] = {"object": "list", "data": data, "model": model}
            if service.name != "gemini":  # Gemini's carry no usage
                reply["usage"] = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
            return JSONResponse(reply)

        @app.post("/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking")
        async def reranking(request: Request) -> dict[str, Any]:
            body = await request.json()
            words = set(body["query"]["text"].lower().split())
            logits = [len(words & set(p["text"].lower().split())) - 1.0 for p in body["passages"]]
            order = sorted(range(len(logits)), key=lambda i: -logits[i])
            return {"rankings": [{"index": i, "logit": logits[i]} for i in order]}

        return app


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(p["text"] if p["type"] == "text" else p["image_url"]["url"] for p in content)


def _endpoint(name: str) -> dict[str, Any]:
    task = "llm/v1/embeddings" if "gte" in name else "llm/v1/chat"
    return {
        "name": name,
        "creator": "someone@example.com",
        "creation_timestamp": 1700000000000,
        "last_updated_timestamp": 1700000000000,
        "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
        "task": task,
        "endpoint_type": "FOUNDATION_MODEL_API",
    }


def _completion(service: Service, model: str, text: str | None, call: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    finish = "stop"
    if call is not None:
        message["tool_calls"] = [call]
        finish = "stop" if service.name == "gemini" else "tool_calls"
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish}
    reply: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [choice],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    if service.name == "azure":
        choice["content_filter_results"] = FILTER
        reply["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": FILTER}]
    return reply


def _chunk(service: Service, model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
    if service.name == "azure":
        choice["content_filter_results"] = FILTER
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
    }
    return f"data: {json.dumps(chunk)}\n\n"


def _prologue(service: Service) -> list[str]:
    """Azure's first event: the prompt's filter results, no choices, empty id/model/object."""
    if service.name != "azure":
        return []
    note = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": FILTER}],
    }
    return [f"data: {json.dumps(note)}\n\n"]


def _text_chunks(service: Service, model: str, text: str) -> list[str]:
    words = text.split(" ")
    events = _prologue(service) + [
        _chunk(
            service, model, {"role": "assistant", "content": w} if i == 0 else {"content": " " + w}
        )
        for i, w in enumerate(words)
    ]
    return [*events, _chunk(service, model, {}, "stop"), "data: [DONE]\n\n"]


def _tool_chunks(service: Service, model: str, call: dict[str, Any]) -> list[str]:
    if service.name == "gemini":  # the call whole, without index; the turn ends with "stop"
        delta = {"role": "assistant", "tool_calls": [call]}
        return [
            _chunk(service, model, delta),
            _chunk(service, model, {}, "stop"),
            "data: [DONE]\n\n",
        ]
    args = call["function"]["arguments"]
    head = {**call, "index": 0, "function": {"name": call["function"]["name"], "arguments": ""}}
    events = [
        *_prologue(service),
        _chunk(service, model, {"role": "assistant", "tool_calls": [head]}),
    ]
    for part in (args[:5], args[5:]):
        events.append(
            _chunk(service, model, {"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
        )
    return [*events, _chunk(service, model, {}, "tool_calls"), "data: [DONE]\n\n"]


def _sse(events: list[str]) -> StreamingResponse:
    async def body() -> Any:
        for event in events:
            yield event

    return StreamingResponse(body(), media_type="text/event-stream")


@functools.cache
def _spec(name: str) -> Any:
    from llama_workbench.core.datatypes import Api
    from llama_workbench.providers.registry import default_registry

    return default_registry().get(Api.inference, f"remote::{name}")


async def build_adapter(service: Service, base_url: str, **config: Any) -> Any:
    """The provider of `service` as the registry builds it, pointed at `base_url`."""
    from llama_workbench.core.datatypes import ProviderDeps
    from llama_workbench.providers.registry import load_config_class, load_factory

    spec = _spec(service.name)
    settings = {"base_url": base_url, "api_key": KEY, "max_retries": 0, "backoff_s": 0.0}
    settings |= service.extra_config | config
    provider_config = load_config_class(spec).model_validate(settings)
    # Remote inference providers use only their id from the deps (no storage, no other API).
    deps = ProviderDeps(provider_id=service.name, apis={}, storage=None, data_dir=None)  # type: ignore[arg-type]
    return await load_factory(spec)(provider_config, deps)


@contextlib.contextmanager
def all_services() -> Iterator[dict[str, ServiceStub]]:
    """A stand-in for every service, started together and stopped together."""
    stubs = {name: ServiceStub(service) for name, service in SERVICES.items()}
    with contextlib.ExitStack() as stack:
        for stub in stubs.values():
            stack.enter_context(stub)
        yield stubs
        for stub in stubs.values():  # stop them all at once, then wait for each
            stub._server.should_exit = True


# What each cassette's "comment" says of its shapes (the module docstring has the sources).
SHAPES = {
    "gemini": "Gemini's OpenAI-compatibility page (chat, chunks, embeddings without usage)",
    "azure": "Azure OpenAI's REST reference (the v1 API) and its content-filtering page "
    '(prompt_filter_results; a first stream event with no choices and object "")',
    "azure-deployments": "Azure OpenAI's REST reference (/openai/deployments/{deployment}/... "
    "?api-version=2024-10-21) and its content-filtering page",
    "sambanova": "OpenAI's chat completions reference, which SambaNova Cloud documents as its API",
    "cerebras": "OpenAI's chat completions reference, which Cerebras documents as its API",
    "databricks": "OpenAI's chat completions reference, which Databricks Model Serving documents "
    "under /serving-endpoints",
    "runpod": "OpenAI's chat completions reference, which RunPod's vLLM workers serve under "
    "/v2/<endpoint id>/openai/v1",
    "llama-openai-compat": "OpenAI's chat completions reference, which the Llama API's "
    "compatibility endpoint (/compat/v1) documents",
    "nvidia": "NVIDIA's NIM references (OpenAI's chat shape; embeddings with input_type)",
}


async def record_cassettes(folder: Any) -> None:
    """Write the committed cassettes: each service's chat (plain, streamed) and embeddings, as
    its stand-in answers them, under the service's own paths. Run by hand; the tests replay."""
    from pathlib import Path

    from llama_workbench.apis.inference.models import ChatCompletionRequest, EmbeddingsRequest
    from llama_workbench.providers.utils.recording import recording

    for name, service in SERVICES.items():
        target = Path(folder) / name
        with ServiceStub(service) as stub, recording("record", target):
            adapter = await build_adapter(service, stub.base_url)
            for stream in (False, True):
                request = ChatCompletionRequest(
                    model=service.models[0],
                    messages=[{"role": "user", "content": "hi there"}],
                    stream=stream,
                )
                result = await adapter.chat_completion(request)
                if stream:
                    _ = [chunk async for chunk in result]
            if service.embedding_model in ("models/text-embedding-004", "nvidia/nv-embedqa-e5-v5"):
                extra = {"input_type": "query"} if name == "nvidia" else {}
                await adapter.embeddings(
                    EmbeddingsRequest(model=service.embedding_model, input=["abc"], **extra)
                )
            await adapter.shutdown()
        for path in sorted(target.glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            comment = (
                f"Response shape from {SHAPES[name]}; written by our recorder against the local "
                "stand-in serving that shape (tests/support/openai_services.py); the service "
                "can't be reached here."
            )
            path.write_text(
                json.dumps({"comment": comment, **record}, indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
