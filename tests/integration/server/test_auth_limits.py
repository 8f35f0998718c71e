"""Server security and limits: bearer tokens, per-principal resources, body and concurrency limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.stub_server import (
    STORAGE_WITH_COMPLETIONS,
    StubOpenAIServer,
    free_port,
    stub_stack_config,
)


@pytest.fixture(scope="module")
def stub() -> Iterator[StubOpenAIServer]:
    with StubOpenAIServer(models=["m"]) as server:
        yield server


@pytest.fixture(scope="module")
def server(
    stub: StubOpenAIServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackgroundServer]:
    config = stub_stack_config(
        stub.base_url,
        tmp_path_factory.mktemp("auth"),
        provider_config={"api_key": "sk-upstream-secret"},
        storage=STORAGE_WITH_COMPLETIONS,
        server={
            "auth": {
                "tokens": [
                    {"token": "tok-alice", "principal": "alice"},
                    {"token": "tok-bob", "principal": "bob"},
                    {"token": "tok-root", "principal": "root", "roles": ["admin"]},
                ]
            },
            "max_request_bytes": 4096,
            "max_concurrent_requests": 2,
        },
    )
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
        yield running


def sdk(server: BackgroundServer, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=token, max_retries=0)


def test_token_required(server: BackgroundServer) -> None:
    with pytest.raises(openai.AuthenticationError, match="Invalid bearer token"):
        sdk(server, "tok-wrong").models.list()
    response = httpx.get(f"{server.url}/v1/models")
    assert (
        response.status_code == 401
        and "Missing bearer token" in response.json()["error"]["message"]
    )
    assert httpx.get(f"{server.url}/v1/health").status_code == 200
    assert [m.id for m in sdk(server, "tok-alice").models.list()] == ["s/m"]


def test_users_cannot_see_each_others_resources(server: BackgroundServer) -> None:
    created = httpx.post(
        f"{server.url}/v1/models",
        headers={"Authorization": "Bearer tok-alice"},
        json={"model_id": "alice-model", "provider_id": "s", "provider_model_id": "m"},
    )
    assert created.status_code == 200 and created.json()["owner"] == "alice"
    alice, bob, root = sdk(server, "tok-alice"), sdk(server, "tok-bob"), sdk(server, "tok-root")
    assert "alice-model" in [m.id for m in alice.models.list()]
    assert "alice-model" not in [m.id for m in bob.models.list()]
    with pytest.raises(openai.NotFoundError):
        bob.models.retrieve("alice-model")
    with pytest.raises(openai.NotFoundError):
        bob.chat.completions.create(
            model="alice-model", messages=[{"role": "user", "content": "x"}]
        )
    reply = alice.chat.completions.create(
        model="alice-model", messages=[{"role": "user", "content": "x"}]
    )
    assert reply.choices[0].message.content == "echo: x"
    assert "alice-model" in [m.id for m in root.models.list()]


def test_provider_secrets_never_leave_the_server(server: BackgroundServer) -> None:
    text = httpx.get(
        f"{server.url}/v1/providers", headers={"Authorization": "Bearer tok-root"}
    ).text
    assert "sk-upstream-secret" not in text and "**********" in text


def test_body_size_limit(server: BackgroundServer) -> None:
    big = {"model": "m", "messages": [{"role": "user", "content": "x" * 10_000}]}
    response = httpx.post(
        f"{server.url}/v1/chat/completions", json=big, headers={"Authorization": "Bearer tok-bob"}
    )
    assert response.status_code == 413 and "over 4096 bytes" in response.json()["error"]["message"]


def test_concurrency_limit(server: BackgroundServer, stub: StubOpenAIServer) -> None:
    stub.fail_next(
        200, '{"unused": 1}', times=2, delay_s=1.0
    )  # two slow upstream answers hold both slots
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    headers = {"Authorization": "Bearer tok-bob"}
    inflight = [
        threading.Thread(
            target=httpx.post,
            args=(f"{server.url}/v1/chat/completions",),
            kwargs={"json": body, "headers": headers, "timeout": 10},
        )
        for _ in range(2)
    ]
    for t in inflight:
        t.start()
    target, deadline = len(stub.requests) + 2, time.monotonic() + 10
    while len(stub.requests) < target and time.monotonic() < deadline:
        threading.Event().wait(0.005)  # until both requests have reached the upstream: slots taken
    third = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers)
    for t in inflight:
        t.join()
    assert third.status_code == 429 and third.headers["retry-after"] == "1"


def test_stored_completions_are_private(server: BackgroundServer) -> None:
    alice, bob, root = sdk(server, "tok-alice"), sdk(server, "tok-bob"), sdk(server, "tok-root")
    mine = alice.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "secret"}]
    )
    assert mine.id in [c.id for c in alice.chat.completions.list().data]
    assert mine.id not in [c.id for c in bob.chat.completions.list().data]
    with pytest.raises(openai.NotFoundError):
        bob.chat.completions.retrieve(mine.id)
    assert root.chat.completions.retrieve(mine.id).id == mine.id
