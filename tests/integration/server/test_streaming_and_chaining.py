"""Streaming over HTTP: a client that hangs up stops the work; and a server as another stack's provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llama_workbench import Stack
from llama_workbench.providers.registry import ProviderRegistry
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.providers import echo
from tests.support.stub_server import StubOpenAIServer, free_port, stub_stack_config


@pytest.fixture(scope="module")
def echo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    registry = ProviderRegistry.default()
    registry.add(echo.SPEC)
    config = {
        "data_dir": str(tmp_path_factory.mktemp("echo")),
        "apis": ["inference"],
        "providers": {
            "inference": [
                {
                    "provider_id": "e",
                    "provider_type": "inline::echo",
                    "config": {"word_delay_s": 0.05},
                }
            ]
        },
    }
    with (
        Stack.from_config(config, registry=registry) as stack,
        start_server(stack, port=free_port()) as server,
    ):
        yield server


def test_stream_is_sse_ending_with_done(echo_server: BackgroundServer) -> None:
    body = {"model": "echo-1", "messages": [{"role": "user", "content": "one two"}], "stream": True}
    lines = [
        line
        for line in httpx.post(f"{echo_server.url}/v1/chat/completions", json=body).text.split("\n")
        if line
    ]
    assert lines[-1] == "data: [DONE]" and all(line.startswith("data: ") for line in lines)


def test_client_disconnect_stops_generation(echo_server: BackgroundServer) -> None:
    echo.stream_closed.clear()
    words = " ".join(f"w{i}" for i in range(400))  # 20 s of streaming if nobody stops it
    body = {"model": "echo-1", "messages": [{"role": "user", "content": words}], "stream": True}
    with (
        httpx.Client(base_url=echo_server.url) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as r,
    ):
        first = next(r.iter_lines())
        assert first.startswith("data: {")
    # The connection is closed: the provider's generator must be stopped, not left running.
    assert echo.stream_closed.wait(10)


def test_remote_llama_stack_provider_uses_our_server(tmp_path: Path) -> None:
    with StubOpenAIServer(models=["m"]) as stub:
        upstream = stub_stack_config(stub.base_url, tmp_path / "team")
        with Stack.from_config(upstream) as team, start_server(team, port=free_port()) as server:
            notebook = stub_stack_config(
                f"{server.url}/v1",
                tmp_path / "nb",
                provider_id="team",
                provider_type="remote::llama-stack",
            )
            with Stack.from_config(notebook) as stack:
                assert [m.identifier for m in stack.models.list()] == ["team/s/m"]
                reply = stack.inference.chat_completion(
                    model="team/s/m", messages=[{"role": "user", "content": "hi"}]
                )
                assert reply.choices[0].message.content == "echo: hi"
                chunks = stack.inference.chat_completion(
                    model="s/m", messages=[{"role": "user", "content": "a b"}], stream=True
                )
                assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: a b"
