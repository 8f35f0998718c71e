"""Security pass on a shared server: bob tries to read, list, search, change, delete and run every
kind of alice's resources with the openai SDK and raw httpx. Everything is refused, and no answer
carries alice's content or the id of anything of hers he did not name himself."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.full_stack import full_stack_config
from tests.support.identity_provider import IdentityProvider
from tests.support.stub_server import StubOpenAIServer, free_port
from tests.support.waiting import wait_for

CANARY = "ALICE-CANARY-31337"  # in everything of alice's: an answer holding it leaked
MESSAGES: Any = [{"role": "user", "content": f"hello {CANARY}"}]


@dataclass
class Alice:
    """What alice made; `ids` are every id of hers (none may show up in bob's answers)."""

    ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def server(
    idp: IdentityProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackgroundServer]:
    """The default policy (owners and admins), alice and bob from JWTs."""
    with StubOpenAIServer(models=["m", "e"]) as stub:
        config = full_stack_config(stub.base_url, tmp_path_factory.mktemp("security"))
        config["providers"]["eval"][0]["config"] = {"mlflow": {"enabled": False}}  # quicker
        provider = {"type": "oauth2_token", "issuer": idp.issuer, "jwks": {"uri": idp.jwks_url}}
        config["server"] = {"auth": {"provider_config": provider}}
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
            yield running


def http(server: BackgroundServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@pytest.fixture(scope="module")
def alice(server: BackgroundServer, idp: IdentityProvider) -> Iterator[Alice]:
    made = Alice()
    sdk = openai.OpenAI(base_url=f"{server.url}/v1", api_key=idp.token("alice"), max_retries=0)
    with http(server, idp.token("alice")) as raw:

        def ok(response: httpx.Response) -> dict[str, Any]:
            assert response.status_code == 200, response.text
            return dict(response.json())

        model = {"model_id": "alice-model", "provider_id": "s", "provider_model_id": "m"}
        made.ids["model"] = ok(raw.post("/v1/models", json=model))["identifier"]
        upload = sdk.files.create(
            file=("notes.txt", f"otters {CANARY}".encode()), purpose="assistants"
        )
        made.ids["file"] = upload.id
        store = sdk.vector_stores.create(name=f"store {CANARY}", file_ids=[upload.id])
        made.ids["vector_store"] = store.id
        batch_file = sdk.files.create(file=("b.txt", b"more otters"), purpose="assistants")
        made.ids["batch_file"] = batch_file.id
        made.ids["file_batch"] = sdk.vector_stores.file_batches.create(
            store.id, file_ids=[batch_file.id]
        ).id
        completion = sdk.chat.completions.create(model="alice-model", messages=MESSAGES)
        made.ids["chat_completion"] = completion.id
        response = sdk.responses.create(model="alice-model", input=f"hi {CANARY}", store=True)
        made.ids["response"] = response.id
        conversation = sdk.conversations.create(
            items=[{"type": "message", "role": "user", "content": CANARY}],
            metadata={"topic": CANARY},
        )
        made.ids["conversation"] = conversation.id
        made.ids["item"] = sdk.conversations.items.list(conversation.id).data[0].id  # type: ignore[union-attr]
        lines = json.dumps(
            {"custom_id": "1", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": "alice-model", "messages": MESSAGES}}
        ).encode()  # fmt: skip
        batch_input = sdk.files.create(file=("in.jsonl", lines), purpose="batch")
        made.ids["batch_input"] = batch_input.id
        made.ids["batch"] = sdk.batches.create(
            input_file_id=batch_input.id, endpoint="/v1/chat/completions", completion_window="24h"
        ).id
        rows = [{"input_query": f"q {CANARY}", "expected_answer": "echo: q"}]
        dataset = {"purpose": "eval/question-answer", "source": {"type": "rows", "rows": rows}}
        made.ids["dataset"] = ok(
            raw.post("/v1beta/datasets", json={**dataset, "dataset_id": "alice-data"})
        )["identifier"]
        fn = {
            "scoring_fn_id": "alice-fn", "description": CANARY, "return_type": {"type": "number"},
            "provider_scoring_fn_id": "equality", "provider_id": "basic",
        }  # fmt: skip
        made.ids["scoring_fn"] = ok(raw.post("/v1/scoring-functions", json=fn))["identifier"]
        bench = {"benchmark_id": "alice-bench", "dataset_id": "alice-data"}
        bench |= {"scoring_functions": ["basic::equality"], "metadata": {"note": CANARY}}
        made.ids["benchmark"] = ok(raw.post("/v1alpha/eval/benchmarks", json=bench))["identifier"]
        run = {"benchmark_config": {"eval_candidate": {"type": "model", "model": "alice-model"}}}
        made.ids["eval_job"] = ok(raw.post("/v1alpha/eval/benchmarks/alice-bench/jobs", json=run))[
            "job_id"
        ]
        shield = {
            "shield_id": "alice-shield",
            "provider_id": "pii",
            "params": {"entities": ["email"]},
        }
        made.ids["shield"] = ok(raw.post("/v1/shields", json=shield))["identifier"]
        made.ids["prompt"] = ok(raw.post("/v1/prompts", json={"prompt": f"Hi {CANARY}"}))[
            "prompt_id"
        ]
    wait_for(lambda: sdk.batches.retrieve(made.ids["batch"]).status in ("completed", "failed"))
    yield made


Attempt = Callable[[], Any]


def bob_attempts(
    server: BackgroundServer, alice: Alice, bob_sdk: openai.OpenAI, raw: httpx.Client
) -> dict[str, Attempt]:
    i = alice.ids
    vs, conv, fb = i["vector_store"], i["conversation"], i["file_batch"]
    return {
        # models
        "model retrieve": lambda: bob_sdk.models.retrieve(i["model"]),
        "model chat": lambda: bob_sdk.chat.completions.create(model=i["model"], messages=MESSAGES),
        "model responses": lambda: bob_sdk.responses.create(model=i["model"], input="x"),
        "model embeddings": lambda: raw.post(
            "/v1/embeddings", json={"model": i["model"], "input": "x"}
        ),
        "model delete": lambda: raw.delete(f"/v1/models/{i['model']}"),
        # files
        "file retrieve": lambda: bob_sdk.files.retrieve(i["file"]),
        "file content": lambda: bob_sdk.files.content(i["file"]),
        "file delete": lambda: bob_sdk.files.delete(i["file"]),
        # vector stores
        "store retrieve": lambda: bob_sdk.vector_stores.retrieve(vs),
        "store search": lambda: bob_sdk.vector_stores.search(vs, query="otters"),
        "store update": lambda: bob_sdk.vector_stores.update(vs, name="mine now"),
        "store delete": lambda: bob_sdk.vector_stores.delete(vs),
        "store files": lambda: bob_sdk.vector_stores.files.list(vs),
        "store file": lambda: bob_sdk.vector_stores.files.retrieve(i["file"], vector_store_id=vs),
        "store file content": lambda: raw.get(f"/v1/vector_stores/{vs}/files/{i['file']}/content"),
        "store file delete": lambda: bob_sdk.vector_stores.files.delete(
            i["file"], vector_store_id=vs
        ),
        "store attach": lambda: raw.post(
            f"/v1/vector_stores/{vs}/files", json={"file_id": i["file"]}
        ),
        "store batch": lambda: bob_sdk.vector_stores.file_batches.retrieve(fb, vector_store_id=vs),
        "store batch cancel": lambda: bob_sdk.vector_stores.file_batches.cancel(
            fb, vector_store_id=vs
        ),
        "vector-io query": lambda: raw.post(
            "/v1/vector-io/query", json={"vector_store_id": vs, "query": "otters"}
        ),
        "vector-io insert": lambda: raw.post(
            "/v1/vector-io/insert",
            json={
                "vector_store_id": vs,
                "chunks": [{"content": "x", "chunk_id": "c", "metadata": {}}],
            },
        ),
        "file_search tool": lambda: bob_sdk.responses.create(
            model="s/m", input="otters?", tools=[{"type": "file_search", "vector_store_ids": [vs]}]
        ),
        # stored chat completions
        "completion retrieve": lambda: bob_sdk.chat.completions.retrieve(i["chat_completion"]),
        # responses
        "response retrieve": lambda: bob_sdk.responses.retrieve(i["response"]),
        "response input items": lambda: bob_sdk.responses.input_items.list(i["response"]),
        "response delete": lambda: bob_sdk.responses.delete(i["response"]),
        "response cancel": lambda: bob_sdk.responses.cancel(i["response"]),
        "response chain": lambda: bob_sdk.responses.create(
            model="s/m", input="and then?", previous_response_id=i["response"]
        ),
        # conversations
        "conversation retrieve": lambda: bob_sdk.conversations.retrieve(conv),
        "conversation update": lambda: bob_sdk.conversations.update(conv, metadata={"x": "y"}),
        "conversation delete": lambda: bob_sdk.conversations.delete(conv),
        "conversation items": lambda: bob_sdk.conversations.items.list(conv),
        "conversation item": lambda: bob_sdk.conversations.items.retrieve(
            i["item"], conversation_id=conv
        ),
        "conversation add item": lambda: bob_sdk.conversations.items.create(
            conv, items=[{"type": "message", "role": "user", "content": "x"}]
        ),
        "conversation in response": lambda: bob_sdk.responses.create(
            model="s/m", input="x", conversation=conv
        ),
        # batches
        "batch retrieve": lambda: bob_sdk.batches.retrieve(i["batch"]),
        "batch cancel": lambda: bob_sdk.batches.cancel(i["batch"]),
        # datasets
        "dataset retrieve": lambda: raw.get(f"/v1beta/datasets/{i['dataset']}"),
        "dataset rows": lambda: raw.get(f"/v1beta/datasetio/iterrows/{i['dataset']}"),
        "dataset append": lambda: raw.post(
            f"/v1beta/datasetio/append-rows/{i['dataset']}", json={"rows": [{"a": 1}]}
        ),
        "dataset delete": lambda: raw.delete(f"/v1beta/datasets/{i['dataset']}"),
        # scoring functions
        "scoring fn retrieve": lambda: raw.get(f"/v1/scoring-functions/{i['scoring_fn']}"),
        "scoring fn run": lambda: raw.post(
            "/v1/scoring/score",
            json={
                "input_rows": [{"generated_answer": "a", "expected_answer": "a"}],
                "scoring_functions": {i["scoring_fn"]: None},
            },
        ),
        "scoring fn delete": lambda: raw.delete(f"/v1/scoring-functions/{i['scoring_fn']}"),
        "score alice's dataset": lambda: raw.post(
            "/v1/scoring/score-batch",
            json={"dataset_id": i["dataset"], "scoring_functions": {"basic::equality": None}},
        ),
        # benchmarks and eval jobs
        "benchmark retrieve": lambda: raw.get(f"/v1alpha/eval/benchmarks/{i['benchmark']}"),
        "benchmark delete": lambda: raw.delete(f"/v1alpha/eval/benchmarks/{i['benchmark']}"),
        "benchmark run": lambda: raw.post(
            f"/v1alpha/eval/benchmarks/{i['benchmark']}/jobs",
            json={"benchmark_config": {"eval_candidate": {"type": "model", "model": "s/m"}}},
        ),
        "benchmark on alice's dataset": lambda: raw.post(
            "/v1alpha/eval/benchmarks",
            json={
                "benchmark_id": "bob-bench",
                "dataset_id": i["dataset"],
                "scoring_functions": ["basic::equality"],
            },
        ),
        "eval job status": lambda: raw.get(
            f"/v1alpha/eval/benchmarks/{i['benchmark']}/jobs/{i['eval_job']}"
        ),
        "eval job result": lambda: raw.get(
            f"/v1alpha/eval/benchmarks/{i['benchmark']}/jobs/{i['eval_job']}/result"
        ),
        "eval job cancel": lambda: raw.delete(
            f"/v1alpha/eval/benchmarks/{i['benchmark']}/jobs/{i['eval_job']}"
        ),
        # shields
        "shield retrieve": lambda: raw.get(f"/v1/shields/{i['shield']}"),
        "shield run": lambda: raw.post(
            "/v1/safety/run-shield", json={"shield_id": i["shield"], "messages": MESSAGES}
        ),
        "shield moderation": lambda: bob_sdk.moderations.create(model=i["shield"], input="x"),
        "shield delete": lambda: raw.delete(f"/v1/shields/{i['shield']}"),
        # prompts
        "prompt retrieve": lambda: raw.get(f"/v1/prompts/{i['prompt']}"),
        "prompt versions": lambda: raw.get(f"/v1/prompts/{i['prompt']}/versions"),
        "prompt update": lambda: raw.put(
            f"/v1/prompts/{i['prompt']}", json={"prompt": "mine", "version": 1}
        ),
        "prompt default": lambda: raw.put(
            f"/v1/prompts/{i['prompt']}/set-default-version", json={"version": 1}
        ),
        "prompt delete": lambda: raw.delete(f"/v1/prompts/{i['prompt']}"),
        "prompt in response": lambda: bob_sdk.responses.create(
            model="s/m", input="x", prompt={"id": i["prompt"]}
        ),
    }


def refused(outcome: Any) -> tuple[int, str]:
    """(status, body) of a refusal; an attempt that succeeded fails the test."""
    if isinstance(outcome, httpx.Response):
        return outcome.status_code, outcome.text
    if isinstance(outcome, openai.APIStatusError):
        return outcome.status_code, outcome.response.text
    raise AssertionError(f"not refused: {outcome!r}"[:500])


def test_bob_can_reach_nothing_of_alices(
    server: BackgroundServer, alice: Alice, idp: IdentityProvider
) -> None:
    bob_sdk = openai.OpenAI(base_url=f"{server.url}/v1", api_key=idp.token("bob"), max_retries=0)
    with http(server, idp.token("bob")) as raw:
        for name, attempt in bob_attempts(server, alice, bob_sdk, raw).items():
            try:
                outcome = attempt()
            except openai.APIStatusError as exc:
                outcome = exc
            status, text = refused(outcome)
            assert status in (400, 403, 404), (name, status, text)
            assert CANARY not in text, (name, text)
            for kind, value in alice.ids.items():
                if len(value) < 6 or value not in text:  # eval job ids are "0", "1", ...
                    continue
                # Only the ids bob put in his own request may be echoed back.
                assert value in _request_ids(name, alice), (name, kind, text)
        # A batch over alice's file is created (as in Llama Stack 0.7.3, files are checked as
        # the batch runs) and fails exactly as one over a file that does not exist.
        failures = []
        for file_id in (alice.ids["batch_input"], "file-0123456789abcdef"):
            made = bob_sdk.batches.create(
                input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            wait_for(lambda m=made: bob_sdk.batches.retrieve(m.id).status == "failed")
            errors = bob_sdk.batches.retrieve(made.id).errors
            assert errors is not None and errors.data
            failures.append(errors.model_dump_json().replace(file_id, "<file>"))
        assert failures[0] == failures[1] and CANARY not in failures[0]


def _request_ids(name: str, alice: Alice) -> set[str]:
    """The ids of alice's that attempt `name` sends (its answer may repeat those)."""
    i = alice.ids
    by_prefix = {
        "model": {i["model"]}, "file": {i["file"]}, "store": {i["vector_store"], i["file"], i["file_batch"]},
        "vector-io": {i["vector_store"]}, "file_search": {i["vector_store"]},
        "completion": {i["chat_completion"]}, "response": {i["response"]},
        "conversation": {i["conversation"], i["item"]}, "batch": {i["batch"], i["batch_input"]},
        "dataset": {i["dataset"]}, "scoring": {i["scoring_fn"]}, "score": {i["dataset"]},
        "benchmark": {i["benchmark"], i["dataset"]}, "eval": {i["benchmark"], i["eval_job"]},
        "shield": {i["shield"]}, "prompt": {i["prompt"]},
    }  # fmt: skip
    longest_first = sorted(by_prefix.items(), key=lambda kv: -len(kv[0]))
    return next(ids for prefix, ids in longest_first if name.startswith(prefix))


def test_bob_lists_nothing_of_alices(
    server: BackgroundServer, alice: Alice, idp: IdentityProvider
) -> None:
    bob_sdk = openai.OpenAI(base_url=f"{server.url}/v1", api_key=idp.token("bob"), max_retries=0)
    listings = [
        bob_sdk.models.list().model_dump_json(),
        bob_sdk.files.list().model_dump_json(),
        bob_sdk.vector_stores.list().model_dump_json(),
        bob_sdk.chat.completions.list().model_dump_json(),
        bob_sdk.batches.list().model_dump_json(),
    ]
    with http(server, idp.token("bob")) as raw:
        for path in (
            "/v1beta/datasets", "/v1/scoring-functions", "/v1alpha/eval/benchmarks",
            "/v1/shields", "/v1/prompts", "/v1/tools", "/v1/responses",
        ):  # fmt: skip
            answer = raw.get(path)
            assert answer.status_code == 200, (path, answer.text)
            listings.append(answer.text)
    # bob's own batch over alice's file names the file id he gave; nothing else of hers shows.
    shown = [v for k, v in alice.ids.items() if k != "batch_input" and len(v) >= 6]
    for text in listings:
        assert CANARY not in text
        assert not [v for v in shown if v in text], text[:300]
    # alice still sees all of it (nothing of hers was changed or deleted by bob)
    alice_sdk = openai.OpenAI(
        base_url=f"{server.url}/v1", api_key=idp.token("alice"), max_retries=0
    )
    assert alice_sdk.models.retrieve(alice.ids["model"]).id == alice.ids["model"]
    assert alice_sdk.vector_stores.retrieve(alice.ids["vector_store"]).name == f"store {CANARY}"
    assert alice_sdk.conversations.retrieve(alice.ids["conversation"]).metadata == {"topic": CANARY}
    assert alice_sdk.files.content(alice.ids["file"]).read() == f"otters {CANARY}".encode()
    with http(server, idp.token("alice")) as raw:
        for path in (
            f"/v1beta/datasets/{alice.ids['dataset']}",
            f"/v1/scoring-functions/{alice.ids['scoring_fn']}",
            f"/v1alpha/eval/benchmarks/{alice.ids['benchmark']}",
            f"/v1/shields/{alice.ids['shield']}",
            f"/v1/prompts/{alice.ids['prompt']}",
        ):
            assert raw.get(path).status_code == 200, path
