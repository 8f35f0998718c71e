"""Rerank and admin routes through the official llama-stack-client (0.7.x, its own venv), with
auth on: admin-only routes, and rerank models registered by one principal hidden from others."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.client_venv import client_python
from tests.support.rerank_server import StubRerankServer
from tests.support.stub_server import free_port, stub_stack_config

SCRIPT = r"""
import json, sys
import llama_stack_client as lsc
from llama_stack_client import LlamaStackClient

def client(token):
    return LlamaStackClient(base_url=sys.argv[1], api_key=token, max_retries=0)

def status(call):
    try:
        call()
    except lsc.APIStatusError as exc:
        return [type(exc).__name__, exc.status_code]
    return None

root, alice = client("tok-root"), client("tok-alice")
out = {}
ranked = alice.alpha.inference.rerank(
    model="s/r", query="apple banana", items=["apple pie", "plums", "banana and apple"],
    max_num_results=2,
)
out["rerank"] = [[d.index, d.relevance_score] for d in ranked]
out["rerank_errors"] = {
    "empty": status(lambda: alice.alpha.inference.rerank(model="s/r", query="q", items=[])),
    "llm": status(lambda: alice.alpha.inference.rerank(model="s/m", query="q", items=["a"])),
    "unknown": status(lambda: alice.alpha.inference.rerank(model="nope", query="q", items=["a"])),
}
out["providers"] = [p.provider_id for p in root.alpha.admin.list_providers()]
out["provider"] = root.alpha.admin.inspect_provider("s").provider_type
out["routes"] = len(root.alpha.admin.list_routes(api_filter="v1alpha"))
out["health"] = root.alpha.admin.health().status
out["version"] = root.alpha.admin.version().version
out["admin_errors"] = {
    "alice": status(lambda: alice.alpha.admin.list_providers()),
    "alice_health": status(lambda: alice.alpha.admin.health()),
    "missing": status(lambda: root.alpha.admin.inspect_provider("nope")),
}
print(json.dumps(out))
"""
TOKENS = [
    {"token": "tok-alice", "principal": "alice"},
    {"token": "tok-bob", "principal": "bob"},
    {"token": "tok-root", "principal": "root", "roles": ["admin"]},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    with StubRerankServer(models=["m"]) as stub:
        config = stub_stack_config(
            stub.base_url,
            tmp_path_factory.mktemp("lsc-alpha"),
            provider_config={"rerank_models": ["r"], "backoff_s": 0.0},
            server={"auth": {"tokens": TOKENS}},
        )
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
            yield running


def test_rerank_and_admin_with_the_llama_stack_client(server: BackgroundServer) -> None:
    run = subprocess.run(
        [str(client_python()), "-c", SCRIPT, server.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["rerank"] == [[2, 1.0], [0, 0.5]]
    assert out["rerank_errors"] == {
        "empty": ["BadRequestError", 400],
        "llm": ["BadRequestError", 400],
        "unknown": ["NotFoundError", 404],
    }
    assert out["providers"] == ["s"] and out["provider"] == "remote::vllm"
    assert out["routes"] >= 3 and out["health"] == "OK" and out["version"]
    assert out["admin_errors"] == {
        "alice": ["PermissionDeniedError", 403],
        "alice_health": ["PermissionDeniedError", 403],
        "missing": ["NotFoundError", 404],
    }


def test_a_rerank_model_registered_by_one_principal_is_hidden_from_others(
    server: BackgroundServer,
) -> None:
    def headers(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    model = {"model_id": "alice-r", "provider_id": "s", "provider_model_id": "r"}
    registered = httpx.post(
        f"{server.url}/v1/models",
        json={**model, "model_type": "rerank"},
        headers=headers("tok-alice"),
    )
    assert registered.status_code == 200, registered.text
    body = {"model": "alice-r", "query": "apple", "items": ["apple", "pear"]}
    url = f"{server.url}/v1alpha/inference/rerank"
    mine = httpx.post(url, json=body, headers=headers("tok-alice"))
    assert mine.status_code == 200 and mine.json()["data"][0]["index"] == 0
    theirs = httpx.post(url, json=body, headers=headers("tok-bob"))
    assert theirs.status_code == 404
    assert httpx.post(url, json=body, headers=headers("tok-root")).status_code == 200
