"""Files and vector stores on our server on 127.0.0.1, driven by the official openai SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.rag import answered, corpus_files, questions, rag_config
from tests.support.stub_server import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    config = rag_config(tmp_path_factory.mktemp("vs-server"))
    config["providers"]["files"][0]["config"] = {"max_file_size_bytes": 200_000}
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
        yield running


@pytest.fixture
def client(server: BackgroundServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)


def test_files_round_trip(client: openai.OpenAI) -> None:
    path = next(p for p in corpus_files() if p.suffix == ".pdf")
    with path.open("rb") as f:
        uploaded = client.files.create(file=f, purpose="assistants")
    assert uploaded.filename == path.name and uploaded.bytes == path.stat().st_size
    assert client.files.retrieve(uploaded.id).purpose == "assistants"
    assert client.files.content(uploaded.id).read() == path.read_bytes()
    listed = client.files.list(purpose="assistants")
    assert uploaded.id in [f.id for f in listed.data]
    assert client.files.delete(uploaded.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)


def test_upload_limits_and_hostile_names(client: openai.OpenAI, server: BackgroundServer) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.files.create(file=("big.txt", b"x" * 200_001), purpose="assistants")
    assert info.value.status_code == 413 and "200000" in info.value.message
    sneaky = client.files.create(file=("../../etc/passwd", b"root:x:0:0"), purpose="assistants")
    assert sneaky.filename == "passwd"
    response = httpx.get(f"{server.url}/v1/files/..%2F..%2Fetc%2Fpasswd/content")
    assert response.status_code == 404
    with pytest.raises(openai.BadRequestError, match="purpose"):
        client.files.create(file=("a.txt", b"a"), purpose="not-a-purpose")  # type: ignore[arg-type]


def test_vector_store_lifecycle_with_the_sdk(client: openai.OpenAI) -> None:
    files = [
        p for p in corpus_files() if p.name.startswith(("keldmouth", "orrin_ridge_obs", "lanthorn"))
    ]
    ids = []
    for path in files:
        with path.open("rb") as f:
            ids.append(client.files.create(file=f, purpose="assistants").id)
    store = client.vector_stores.create(name="sdk", extra_body={"provider_id": "sqlite-vec"})
    assert (store.metadata or {}).get("provider_id") == "sqlite-vec"
    attached = client.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=ids[0], attributes={"lang": "en"}
    )
    assert attached.status == "completed" and attached.attributes == {"lang": "en"}
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=ids[1:], poll_interval_ms=100
    )
    assert batch.status == "completed" and batch.file_counts.completed == 2
    batch_files = client.vector_stores.file_batches.list_files(
        vector_store_id=store.id, batch_id=batch.id
    )
    assert {f.id for f in batch_files.data} == set(ids[1:])
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 3

    for q in [q for q in questions() if q["file"] in {p.name for p in files}][:4]:
        page = client.vector_stores.search(
            vector_store_id=store.id,
            query=q["question"],
            max_num_results=5,
            extra_body={"search_mode": "hybrid"},
        )
        assert any(answered(q, r.filename, r.content[0].text) for r in page.data), q["question"]
    filtered = client.vector_stores.search(
        vector_store_id=store.id,
        query="lighthouse",
        filters={"type": "eq", "key": "lang", "value": "en"},
    )
    assert filtered.data and {r.file_id for r in filtered.data} == {ids[0]}

    content = client.vector_stores.files.content(vector_store_id=store.id, file_id=ids[0])
    assert len(list(content)) > 3
    updated = client.vector_stores.update(store.id, name="renamed", metadata={"k": "v"})
    assert updated.name == "renamed" and (updated.metadata or {}).get("k") == "v"
    assert client.vector_stores.files.delete(vector_store_id=store.id, file_id=ids[0]).deleted
    assert store.id in [s.id for s in client.vector_stores.list().data]
    assert client.vector_stores.delete(store.id).deleted
    # A missing store under /v1/vector_stores is a 400 (BadRequestError), as in Llama Stack 0.7.3.
    with pytest.raises(openai.BadRequestError, match=f"Vector store '{store.id}' not found"):
        client.vector_stores.retrieve(store.id)


def test_chunk_routes_and_rag_tool_over_http(
    server: BackgroundServer, client: openai.OpenAI
) -> None:
    store = client.vector_stores.create(name="chunks")
    http = httpx.Client(base_url=server.url, timeout=60)
    inserted = http.post(
        "/v1/vector-io/insert",
        json={
            "vector_store_id": store.id,
            "chunks": [{"content": "Kelp forests shelter otters.", "chunk_id": "k1"}],
        },
    )
    assert inserted.status_code == 200, inserted.text
    found = http.post(
        "/v1/vector-io/query", json={"vector_store_id": store.id, "query": "Where do otters hide?"}
    )
    assert found.json()["chunks"][0]["chunk_id"] == "k1"
    rag = http.post(
        "/v1/tool-runtime/rag-tool/query",
        json={"content": "otters", "vector_store_ids": [store.id]},
    )
    assert "Kelp forests" in rag.json()["content"]
    tools = http.get("/v1/tools", params={"toolgroup_id": "builtin::rag"}).json()["data"]
    assert [t["name"] for t in tools] == ["knowledge_search"]
    invoked = http.post(
        "/v1/tool-runtime/invoke",
        json={
            "tool_name": "knowledge_search",
            "kwargs": {"query": "otters", "vector_store_ids": [store.id]},
        },
    )
    assert "Kelp forests" in invoked.json()["content"]
    bad = http.post(
        f"/v1/vector_stores/{store.id}/search", json={"query": "x", "search_mode": "semantic"}
    )
    assert bad.status_code == 400 and "search_mode" in bad.json()["error"]["message"]
    # A missing store under /v1/vector_stores is a 400, as Llama Stack 0.7.3 answers it.
    missing = http.post("/v1/vector_stores/vs_missing/search", json={"query": "x"})
    assert missing.status_code == 400 and "vs_missing" in missing.json()["error"]["message"]


def test_llama_stack_paths_are_served(server: BackgroundServer) -> None:
    # Llama Stack 0.7.3's routes as a live server listed them (tests/data/reference).
    reference = Path(__file__).resolve().parents[2] / "data" / "reference"
    reference = reference / "llama-stack-0.7.3-routes.txt"
    spec = httpx.get(f"{server.url}/openapi.json").json()
    served = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    wanted = set()
    for line in reference.read_text().splitlines():
        method, _, rest = line.partition(" ")
        path = rest.strip().split(" | ")[0].strip()
        if path.startswith(("/v1/files", "/v1/vector_stores", "/v1/vector-io")):
            wanted.add((method.strip(), path))
    assert wanted and wanted <= served, sorted(wanted - served)


def test_llama_stack_0_7_3_vector_store_contract(
    server: BackgroundServer, client: openai.OpenAI
) -> None:
    text = client.files.create(file=("kelp.txt", b"Otters sleep in kelp."), purpose="assistants")
    store = client.vector_stores.create(name="contract", file_ids=[text.id, "invalid_file_id"])
    assert (store.file_counts.completed, store.file_counts.failed) == (1, 1)
    attached = client.vector_stores.files.retrieve(vector_store_id=store.id, file_id=text.id)
    assert attached.chunking_strategy is not None
    assert attached.chunking_strategy.type == "static"
    unknown = client.vector_stores.files.create(vector_store_id=store.id, file_id="file-nope")
    assert unknown.status == "failed" and unknown.last_error is not None
    assert "not found" in unknown.last_error.message
    http = httpx.Client(base_url=server.url, timeout=60)
    # `max_num_results: null` means the default.
    page = http.post(
        f"/v1/vector_stores/{store.id}/search", json={"query": "otters", "max_num_results": None}
    )
    assert page.status_code == 200 and page.json()["data"][0]["file_id"] == text.id
    http.post(
        "/v1/vector-io/insert",
        json={
            "vector_store_id": store.id,
            "chunks": [
                {"content": "Owls hunt at dusk.", "chunk_id": "o", "metadata": {"kind": "bird"}},
                {"content": "Owls nap at noon.", "chunk_id": "n", "metadata": {"kind": "note"}},
            ],
        },
    ).raise_for_status()
    query = {"vector_store_id": store.id, "query": "owls"}
    params = {"filters": {"type": "eq", "key": "kind", "value": "note"}}
    found = http.post("/v1/vector-io/query", json={**query, "params": params}).json()
    assert [c["chunk_id"] for c in found["chunks"]] == ["n"]
    bad = http.post("/v1/vector-io/query", json={**query, "params": {"filters": {"type": "x"}}})
    assert bad.status_code == 400 and "params.filters" in bad.json()["error"]["message"]
    missing = http.post("/v1/vector-io/query", json={**query, "vector_store_id": "vs_missing"})
    assert missing.status_code == 404  # outside /v1/vector_stores, as in 0.7.3


def test_attaching_a_large_file_answers_at_once(tmp_path: Path) -> None:
    """Over HTTP a file larger than `attach_wait_max_bytes` answers in_progress (OpenAI's
    behaviour) and is indexed in the background; the SDK's polling then sees it complete."""
    config = rag_config(tmp_path)
    config["vector_stores"] = {"attach_wait_max_bytes": 10_000}
    text = "\n\n".join(p.read_text() for p in corpus_files() if p.suffix in (".md", ".txt"))
    assert len(text.encode()) > 10_000
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
        client = openai.OpenAI(base_url=f"{running.url}/v1", api_key="none", max_retries=0)
        file = client.files.create(file=("corpus.md", text.encode()), purpose="assistants")
        store = client.vector_stores.create(name="big")
        attached = client.vector_stores.files.create(vector_store_id=store.id, file_id=file.id)
        assert attached.status == "in_progress"
        assert client.vector_stores.retrieve(store.id).file_counts.in_progress == 1
        done = client.vector_stores.files.poll(
            file.id, vector_store_id=store.id, poll_interval_ms=100
        )
        assert done.status == "completed", done.last_error
        hits = client.vector_stores.search(vector_store_id=store.id, query="lighthouse keeper")
        assert hits.data and hits.data[0].file_id == file.id
