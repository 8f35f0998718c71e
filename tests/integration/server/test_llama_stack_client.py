"""The server driven by the official llama-stack-client SDK (0.7.x, from its own Python 3.12 venv)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.client_venv import client_python
from tests.support.stub_server import StubOpenAIServer, free_port, stub_stack_config

SCRIPT = r"""
import json, sys
import llama_stack_client as lsc
from llama_stack_client import LlamaStackClient

out = {"version": lsc.__version__}
client = LlamaStackClient(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0)
models = client.models.list()
out["models"] = [(m.id, m.custom_metadata.get("model_type")) for m in models]
reply = client.chat.completions.create(model="s/m", messages=[{"role": "user", "content": "hello"}])
out["chat"] = reply.choices[0].message.content
stream = client.chat.completions.create(model="s/m", messages=[{"role": "user", "content": "a b"}], stream=True)
out["stream"] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
out["completion"] = client.completions.create(model="s/m", prompt="x").choices[0].text
out["embedding"] = client.embeddings.create(model="s/e", input=["abc"]).data[0].embedding
errors = {}
for name, call in {
    "unknown_model": lambda: client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}]),
    "bad_params": lambda: client.chat.completions.create(model="s/m", messages=[], temperature=7),
    "empty_embeddings": lambda: client.embeddings.create(model="s/e", input=[]),
    "no_token": lambda: LlamaStackClient(base_url=sys.argv[1], api_key="wrong", max_retries=0).models.list(),
}.items():
    try:
        call()
        errors[name] = None
    except lsc.APIStatusError as exc:
        errors[name] = [type(exc).__name__, exc.status_code]
out["errors"] = errors
out["providers"] = [p.provider_type for p in client.providers.list()]
out["health"] = client.inspect.health().status
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    with StubOpenAIServer(models=["m", "e"]) as stub:
        config = stub_stack_config(
            stub.base_url,
            tmp_path_factory.mktemp("lsc"),
            provider_config={"embedding_models": {"e": 3}},
            server={"auth": {"tokens": [{"token": "tok", "principal": "me"}]}},
        )
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
            yield running


def test_llama_stack_client_sdk(server: BackgroundServer) -> None:
    run = subprocess.run(
        [str(client_python()), "-c", SCRIPT, server.url, "tok"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["version"].startswith("0.7.")
    assert out["models"] == [["s/e", "embedding"], ["s/m", "llm"]]
    assert (
        out["chat"] == "echo: hello"
        and out["stream"] == "echo: a b"
        and out["completion"] == " and more"
    )
    assert out["embedding"] == [3.0, 1.0, 0.0]
    assert out["errors"] == {
        "unknown_model": ["NotFoundError", 404],
        "bad_params": ["BadRequestError", 400],
        "empty_embeddings": ["BadRequestError", 400],
        "no_token": ["AuthenticationError", 401],
    }
    assert out["providers"] == ["remote::vllm"] and out["health"] == "OK"


RAG_SCRIPT = r"""
import io, json, sys
from llama_stack_client import LlamaStackClient

client = LlamaStackClient(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0)
out = {}
notes = io.BytesIO(b"Otters sleep in kelp.\n\nOwls hunt at dusk.")
uploaded = client.files.create(file=("notes.md", notes), purpose="assistants")
out["file"] = [uploaded.filename, uploaded.bytes]
store = client.vector_stores.create(name="lsc", extra_body={"embedding_model": "s/e", "provider_id": "faiss"})
attached = client.vector_stores.files.create(
    vector_store_id=store.id, file_id=uploaded.id, attributes={"topic": "animals"}
)
out["attached"] = attached.status
page = client.vector_stores.search(vector_store_id=store.id, query="kelp", search_mode="keyword")
out["search"] = [r.content[0].text for r in page.data]
out["counts"] = client.vector_stores.retrieve(store.id).file_counts.completed
client.vector_io.insert(
    vector_store_id=store.id,
    chunks=[{
        "content": "Puffins nest on cliffs.", "chunk_id": "p1", "metadata": {},
        "chunk_metadata": {"document_id": "d"},
        "embedding": [30.0, 1.0, 0.0], "embedding_model": "s/e", "embedding_dimension": 3,
    }],
)
found = client.vector_io.query(vector_store_id=store.id, query="Puffins nest on cliffs.", params={"max_chunks": 1})
out["query"] = [c.chunk_id for c in found.chunks]
out["listed"] = [s.id for s in client.vector_stores.list()] == [store.id]
client.vector_stores.delete(store.id)
client.files.delete(uploaded.id)
print(json.dumps(out))
"""


def test_llama_stack_client_files_and_vector_stores(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with StubOpenAIServer(models=["m", "e"]) as stub:
        config = stub_stack_config(
            stub.base_url,
            tmp_path_factory.mktemp("lsc-rag"),
            provider_config={"embedding_models": {"e": 3}},
        )
        config["apis"] += ["files", "vector_io"]
        config["providers"].update(
            files=[{"provider_id": "fs", "provider_type": "inline::localfs", "config": {}}],
            vector_io=[{"provider_id": "faiss", "provider_type": "inline::faiss", "config": {}}],
        )
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
            run = subprocess.run(
                [str(client_python()), "-c", RAG_SCRIPT, running.url, "none"],
                capture_output=True,
                text=True,
                timeout=120,
            )
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["file"] == ["notes.md", 41]
    assert out["attached"] == "completed" and out["counts"] == 1
    assert out["search"] == ["Otters sleep in kelp.\n\nOwls hunt at dusk."]
    assert out["query"] == ["p1"] and out["listed"]


SAFETY_SCRIPT = r"""
import json, sys
from llama_stack_client import LlamaStackClient, NotFoundError

client = LlamaStackClient(base_url=sys.argv[1], api_key="none", max_retries=0)
out = {"shields": [s.identifier for s in client.shields.list()]}
found = client.safety.run_shield(
    shield_id="pii", messages=[{"role": "user", "content": "mail me: jo.bloggs@acme-mail.com"}]
)
out["violation"] = [found.violation.violation_level, found.violation.metadata["types"]]
clean = client.safety.run_shield(shield_id="pii", messages=[{"role": "user", "content": "hi"}])
out["clean"] = clean.violation is None
moderated = client.moderations.create(input=["jo.bloggs@acme-mail.com", "hello"], model="pii")
out["flagged"] = [r.flagged for r in moderated.results]
out["scores"] = [sorted(set(r.category_scores.values())) for r in moderated.results]
try:
    client.shields.retrieve("llama-guard")
except NotFoundError as exc:
    out["missing"] = exc.status_code
print(json.dumps(out))
"""


def test_llama_stack_client_safety(tmp_path_factory: pytest.TempPathFactory) -> None:
    config = {
        "data_dir": str(tmp_path_factory.mktemp("lsc-safety")),
        "apis": ["safety"],
        "providers": {
            "safety": [{"provider_id": "pii", "provider_type": "inline::pii", "config": {}}]
        },
        "registered_resources": {"shields": [{"shield_id": "pii", "provider_id": "pii"}]},
    }
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
        run = subprocess.run(
            [str(client_python()), "-c", SAFETY_SCRIPT, running.url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out == {
        "shields": ["pii"],
        "violation": ["error", ["email"]],
        "clean": True,
        "flagged": [True, False],
        "scores": [[0.0, 1.0], [1.0]],  # safe: every category 1.0, as Llama Stack 0.7.3
        "missing": 404,
    }
