"""The in-process openai client (`stack.openai()`): chat p50 against a microsecond stub, side by side.

Rows, one run, one stub: raw httpx to the stub (the floor), our sync face
(`stack.inference.chat_completion`), and the openai SDK in-process through `stack.openai()`
(the SDK's request building and parsing, the stack's REST app, no socket); the same for
streamed answers (time to the last chunk). Goal: in-process client <= 1.3x our sync face.

Also the openai SDK alone, answered by a transport that hands back the stack's own answer bytes
at once (no stack, no app): its request building and parsing, which any in-process client pays
on top of the work behind the sync face.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import httpx
from _common import fast_stub, summary  # type: ignore[import-not-found]

from llama_workbench import Stack

N = int(os.environ.get("BENCH_REQUESTS", "500"))
WARMUP = 30
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
GOAL = 1.3


def measure(calls: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Each call once per round, round after round: drift in the machine's load (other work
    on its 2 cores) falls on every row alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(WARMUP + N):
        for name, call in calls.items():
            t0 = time.perf_counter()
            call()
            if i >= WARMUP:
                samples[name].append(time.perf_counter() - t0)
    return samples


def drain(stream: Callable[[], Iterable[object]]) -> Callable[[], None]:
    def call() -> None:
        for _ in stream():
            pass

    return call


def floor_calls(http: httpx.Client) -> dict[str, Callable[[], object]]:
    body = {"model": "stub-model", "messages": MESSAGES}

    def stream() -> Iterable[str]:
        with http.stream("POST", "/chat/completions", json={**body, "stream": True}) as r:
            yield from (line for line in r.iter_lines() if line.startswith("data: {"))

    return {
        "floor": lambda: http.post("/chat/completions", json=body).json(),
        "floor-stream": drain(stream),
    }


def sdk_http() -> ModuleType:
    """The HTTP library the openai SDK is built on (httpx, or httpx2 in newer releases)."""
    import openai

    for cls in openai.DefaultHttpxClient.__mro__:
        if cls.__module__.split(".")[0].startswith("httpx"):
            return importlib.import_module(cls.__module__.split(".")[0])
    return httpx


def canned_client(plain: bytes, streamed: bytes) -> Any:
    """An openai client whose transport answers at once with the given bytes."""
    import openai

    http = sdk_http()

    class Canned(http.BaseTransport):  # type: ignore[name-defined,misc]
        def handle_request(self, request: Any) -> Any:
            stream = b'"stream":true' in request.read().replace(b" ", b"")
            kind = "text/event-stream" if stream else "application/json"
            return http.Response(
                200, headers={"content-type": kind}, content=streamed if stream else plain
            )

    client = openai.DefaultHttpxClient(transport=Canned())
    return openai.OpenAI(api_key="unused", base_url="http://canned/v1", http_client=client)


def rows(base_url: str, data_dir: str) -> dict[str, list[float]]:
    config = {
        "data_dir": data_dir,
        "apis": ["inference"],
        "providers": {
            "inference": [
                {
                    "provider_id": "vllm",
                    "provider_type": "remote::vllm",
                    "config": {"base_url": base_url},
                }
            ]
        },
    }
    with Stack.from_config(config) as stack, httpx.Client(base_url=base_url) as http:
        chat = stack.inference.chat_completion
        client = stack.openai()
        create = client.chat.completions.create
        body = {"model": "vllm/stub-model", "messages": MESSAGES}
        raw = client.chat.completions.with_raw_response
        canned = canned_client(
            raw.create(**body).http_response.read(),
            raw.create(**body, stream=True).http_response.read(),
        ).chat.completions.create
        floor = floor_calls(http)
        plain = measure(
            {
                "floor": floor["floor"],
                "sync": lambda: chat(model="stub-model", messages=MESSAGES),
                "openai": lambda: create(**body),
                "sdk": lambda: canned(**body),
            }
        )
        streamed = measure(
            {
                "floor-stream": floor["floor-stream"],
                "sync-stream": drain(
                    lambda: chat(model="stub-model", messages=MESSAGES, stream=True)
                ),
                "openai-stream": drain(lambda: create(**body, stream=True)),
                "sdk-stream": drain(lambda: canned(**body, stream=True)),
            }
        )
        client.close()
    return {**plain, **streamed}


def main() -> None:
    with fast_stub() as base_url, tempfile.TemporaryDirectory() as tmp:
        ours = rows(base_url, tmp)
    print(f"in-process openai client, chat, {N} rounds of sequential requests to a local stub (ms)")
    print(f"  {'':52}{'p50':>8}{'p99':>8}")
    for name, key in (
        ("floor: raw httpx to the stub", "floor"),
        ("ours: stack.inference.chat_completion (sync face)", "sync"),
        ("ours: stack.openai() chat.completions.create", "openai"),
        ("the openai SDK alone (canned answer, no stack)", "sdk"),
        ("floor: raw httpx to the stub, streamed", "floor-stream"),
        ("ours: sync face, streamed", "sync-stream"),
        ("ours: stack.openai(), streamed", "openai-stream"),
        ("the openai SDK alone, streamed", "sdk-stream"),
    ):
        p50, p99 = summary(ours[key])
        print(f"  {name:52}{p50:8.3f}{p99:8.3f}")
    p50 = {name: summary(samples)[0] for name, samples in ours.items()}
    for label, face, client, sdk in (
        ("plain", "sync", "openai", "sdk"),
        ("streamed", "sync-stream", "openai-stream", "sdk-stream"),
    ):
        print(
            f"  {label}: in-process client / sync face (p50) {p50[client] / p50[face]:.2f}x "
            f"(goal <= {GOAL}x); sync face + the SDK's own cost would be "
            f"{(p50[face] + p50[sdk]) / p50[face]:.2f}x"
        )
    print(f"  ratio sync face / raw httpx floor (p50): {p50['sync'] / p50['floor']:.2f}x")


if __name__ == "__main__":
    main()
