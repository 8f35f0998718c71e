"""/v1/batches through the official llama-stack-client (0.7.x, its own Python 3.12 venv), with
auth on: upload, create, poll to completed, read the output lines, a bad request, and another
principal kept away from alice's batch."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.batches import batch_config, chat_lines, jsonl
from tests.support.client_venv import client_python
from tests.support.scripted_llm import ScriptedModelServer, Turn
from tests.support.stub_server import StubOpenAIServer, free_port

SCRIPTED = "scripted/scripted-model"

SCRIPT = r"""
import json, sys, time
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

alice, bob = client("tok-alice"), client("tok-bob")
out = {}
uploaded = alice.files.create(file=("in.jsonl", sys.stdin.buffer.read()), purpose="batch")
out["file"] = [uploaded.purpose, uploaded.id.startswith("file-")]
batch = alice.batches.create(
    input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
    metadata={"via": "lsc"},
)
out["created"] = [batch.status, batch.endpoint, batch.metadata]
deadline = time.monotonic() + 60
while True:
    done = alice.batches.retrieve(batch.id)
    if done.status in ("completed", "failed", "expired", "cancelled") or time.monotonic() > deadline:
        break
    time.sleep(0.1)
out["done"] = [done.status, done.request_counts.total, done.request_counts.completed,
               done.request_counts.failed]
out["output"] = [json.loads(line) for line in alice.files.content(done.output_file_id).splitlines()
                 if line.strip()]
out["bad"] = status(lambda: alice.batches.create(
    input_file_id=uploaded.id, endpoint="/v1/invalid/endpoint", completion_window="24h"))
out["missing"] = status(lambda: alice.batches.retrieve("batch-nonexistent"))
out["bob"] = {
    "retrieve": status(lambda: bob.batches.retrieve(batch.id)),
    "cancel": status(lambda: bob.batches.cancel(batch.id)),
    "output": status(lambda: bob.files.content(done.output_file_id)),
}
out["alice_list"] = batch.id in {b.id for b in alice.batches.list()}
out["bob_list"] = batch.id in {b.id for b in bob.batches.list()}
out["id"] = batch.id
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    with StubOpenAIServer(models=["m"]) as stub, ScriptedModelServer() as scripted:
        scripted.responder = lambda body: Turn(text="scripted")
        stub_provider = {
            "provider_id": "s",
            "provider_type": "remote::vllm",
            "config": {"base_url": stub.base_url},
        }
        config = batch_config(
            tmp_path_factory.mktemp("lsc-batches"),
            [stub_provider, scripted.provider_config()],
            max_concurrent_requests_per_batch=2,
        )
        config["server"] = {
            "auth": {
                "tokens": [
                    {"token": "tok-alice", "principal": "alice"},
                    {"token": "tok-bob", "principal": "bob"},
                ]
            }
        }
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
            yield running


def test_batches_with_the_llama_stack_client(server: BackgroundServer) -> None:
    lines = chat_lines("m", ["hello", "world"], max_tokens=10)
    lines.append({**chat_lines(SCRIPTED, ["hi"])[0], "custom_id": "r2"})
    run = subprocess.run(
        [str(client_python()), "-c", SCRIPT, server.url],
        input=jsonl(lines),
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    out = json.loads(run.stdout)
    assert out["file"] == ["batch", True]
    assert out["created"] == ["validating", "/v1/chat/completions", {"via": "lsc"}]
    assert out["done"] == ["completed", 3, 3, 0]
    output = {line["custom_id"]: line for line in out["output"]}
    assert sorted(output) == ["r0", "r1", "r2"]
    assert all(line["response"]["status_code"] == 200 for line in output.values())

    def content(custom_id: str) -> str:
        body = json.loads(output[custom_id]["response"]["body"])
        return str(body["choices"][0]["message"]["content"])

    assert (content("r0"), content("r1"), content("r2")) == (
        "echo: hello",
        "echo: world",
        "scripted",
    )
    assert out["bad"] == ["BadRequestError", 400]
    assert out["missing"] == ["NotFoundError", 404]
    assert out["bob"] == {
        "retrieve": ["NotFoundError", 404],
        "cancel": ["NotFoundError", 404],
        "output": ["NotFoundError", 404],
    }
    assert out["alice_list"] is True and out["bob_list"] is False
