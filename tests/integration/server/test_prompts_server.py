"""The Prompts API over HTTP (httpx, llama-stack-client) and prompts in Responses, with auth on.

A real server on 127.0.0.1 with bearer tokens (alice, bob, an admin), the builtin Responses
provider, and a scripted OpenAI-compatible model server whose requests the tests read.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import ResponseInputImageParam, ResponsePromptParam

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.client_venv import client_python
from tests.support.scripted_llm import ScriptedModelServer, say
from tests.support.stub_server import free_port

MODEL = "scripted/scripted-model"
TOKENS = {"alice": "tok-alice", "bob": "tok-bob", "root": "tok-root"}


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(
    model: ScriptedModelServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackgroundServer]:
    config = {
        "data_dir": str(tmp_path_factory.mktemp("prompts")),
        "apis": ["inference", "responses"],
        "providers": {
            "inference": [model.provider_config()],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
        "server": {
            "auth": {
                "tokens": [
                    {"token": TOKENS["alice"], "principal": "alice"},
                    {"token": TOKENS["bob"], "principal": "bob"},
                    {"token": TOKENS["root"], "principal": "root", "roles": ["admin"]},
                ]
            }
        },
    }
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
        yield running


def http(server: BackgroundServer, who: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {TOKENS[who]}"}
    return httpx.Client(base_url=f"{server.url}/v1", headers=headers, timeout=30)


def sdk(server: BackgroundServer, who: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=TOKENS[who], max_retries=0)


def create(client: httpx.Client, text: str, variables: list[str]) -> dict[str, Any]:
    response = client.post("/prompts", json={"prompt": text, "variables": variables})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_seven_routes(server: BackgroundServer) -> None:
    alice = http(server, "alice")
    made = create(alice, "You are a {{ role }} assistant.", ["role"])
    pid = made["prompt_id"]
    assert re.fullmatch(r"pmpt_[0-9a-f]{48}", pid)
    assert made == {
        "prompt": "You are a {{ role }} assistant.",
        "version": 1,
        "prompt_id": pid,
        "variables": ["role"],
        "is_default": True,
    }
    assert alice.get(f"/prompts/{pid}").json() == made
    update = {"prompt": "Be {{ tone }}.", "version": 1, "variables": ["tone"]}
    v2 = alice.put(f"/prompts/{pid}", json=update).json()
    assert (v2["version"], v2["is_default"]) == (2, True)
    stale = alice.put(f"/prompts/{pid}", json=update)
    assert stale.status_code == 400
    assert "'1' is not the latest prompt version" in stale.json()["error"]["message"]
    assert alice.get(f"/prompts/{pid}", params={"version": 1}).json()["prompt"] == made["prompt"]
    versions = alice.get(f"/prompts/{pid}/versions").json()["data"]
    assert [(v["version"], v["is_default"]) for v in versions] == [(1, False), (2, True)]
    chosen = alice.put(f"/prompts/{pid}/set-default-version", json={"version": 1})
    assert chosen.status_code == 200 and chosen.json()["is_default"] is True
    listed = alice.get("/prompts").json()["data"]
    assert [(p["prompt_id"], p["version"]) for p in listed if p["prompt_id"] == pid] == [(pid, 1)]
    deleted = alice.delete(f"/prompts/{pid}")
    assert deleted.status_code == 200 and deleted.json() is None
    gone = alice.get(f"/prompts/{pid}")
    assert (
        gone.status_code == 404 and f"Prompt '{pid}' not found" in gone.json()["error"]["message"]
    )


def test_bad_input(server: BackgroundServer) -> None:
    alice = http(server, "alice")
    undeclared = alice.post("/prompts", json={"prompt": "Hi {{name}}", "variables": []})
    assert undeclared.status_code == 400
    assert "undeclared variables: ['name']" in undeclared.json()["error"]["message"]
    assert alice.post("/prompts", json={"variables": []}).status_code in (400, 422)
    made = create(alice, "x", [])
    missing = alice.get(f"/prompts/{made['prompt_id']}", params={"version": 7})
    assert missing.status_code == 404 and "not found" in missing.json()["error"]["message"]
    bad_default = alice.put(
        f"/prompts/{made['prompt_id']}/set-default-version", json={"version": 7}
    )
    assert bad_default.status_code == 404


def test_owners_are_isolated(server: BackgroundServer) -> None:
    alice, bob, root = http(server, "alice"), http(server, "bob"), http(server, "root")
    pid = create(alice, "Alice's secret {{x}}", ["x"])["prompt_id"]
    assert pid not in [p["prompt_id"] for p in bob.get("/prompts").json()["data"]]
    assert pid in [p["prompt_id"] for p in root.get("/prompts").json()["data"]]
    body = {"prompt": "mine now", "version": 1}
    for response in (
        bob.get(f"/prompts/{pid}"),
        bob.get(f"/prompts/{pid}/versions"),
        bob.put(f"/prompts/{pid}", json=body),
        bob.put(f"/prompts/{pid}/set-default-version", json={"version": 1}),
        bob.delete(f"/prompts/{pid}"),
    ):
        assert response.status_code == 404, response.text
    with pytest.raises(openai.BadRequestError, match="not found"):
        sdk(server, "bob").responses.create(model=MODEL, input="hi", prompt={"id": pid})
    assert alice.get(f"/prompts/{pid}").json()["version"] == 1


def test_a_response_uses_the_rendered_prompt(
    server: BackgroundServer, model: ScriptedModelServer
) -> None:
    pid = create(http(server, "alice"), "You are a {{ role }} tutor.", ["role"])["prompt_id"]
    client = sdk(server, "alice")
    model.script(say("Sure."))
    variables: dict[str, Any] = {"role": {"type": "input_text", "text": "maths"}}
    first = client.responses.create(
        model=MODEL,
        input="Help me.",
        instructions="Be brief.",
        prompt={"id": pid, "variables": variables},
    )
    assert first.output_text == "Sure."
    assert model.requests[-1]["messages"] == [
        {"role": "system", "content": "You are a maths tutor."},
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Help me."},
    ]
    assert first.prompt is not None and first.prompt.id == pid
    assert first.prompt.variables is not None and "role" in first.prompt.variables
    again = client.responses.retrieve(first.id).prompt
    assert again is not None and again.id == pid
    # A later turn carries the dialogue, not the prompt (as with instructions).
    model.script(say("Algebra it is."))
    client.responses.create(model=MODEL, input="Algebra?", previous_response_id=first.id)
    assert [m["role"] for m in model.requests[-1]["messages"]] == ["user", "assistant", "user"]


def test_versions_strings_and_streaming(
    server: BackgroundServer, model: ScriptedModelServer
) -> None:
    alice = http(server, "alice")
    pid = create(alice, "Old {{who}}.", ["who"])["prompt_id"]
    alice.put(
        f"/prompts/{pid}", json={"prompt": "New {{who}}.", "version": 1, "variables": ["who"]}
    )
    client = sdk(server, "alice")
    model.script(say("ok"))
    client.responses.create(
        model=MODEL, input="hi", prompt={"id": pid, "version": "1", "variables": {"who": "Ada"}}
    )
    assert model.requests[-1]["messages"][0] == {"role": "system", "content": "Old Ada."}
    model.script(say("ok"))
    events = list(
        client.responses.create(
            model=MODEL, input="hi", prompt={"id": pid, "variables": {"who": "Bo"}}, stream=True
        )
    )
    assert model.requests[-1]["messages"][0] == {"role": "system", "content": "New Bo."}
    first, last = events[0], events[-1]
    assert first.type == "response.created" and last.type == "response.completed"
    for event in (first, last):
        assert event.response.prompt is not None and event.response.prompt.id == pid


def test_bad_prompts_in_a_response_are_400s(server: BackgroundServer) -> None:
    pid = create(http(server, "alice"), "A {{x}}.", ["x"])["prompt_id"]
    client = sdk(server, "alice")
    image: ResponseInputImageParam = {
        "type": "input_image",
        "image_url": "http://i/x.png",
        "detail": "auto",
    }
    cases: list[tuple[ResponsePromptParam, str]] = [
        ({"id": "pmpt_nonexistent_12345"}, "not found"),
        ({"id": pid, "version": "99"}, "not found"),
        ({"id": pid, "variables": {"y": "1"}}, "not defined in prompt"),
        ({"id": pid, "variables": {"x": image}}, "prompt.variables.x: input_image values are not"),
    ]
    for prompt, message in cases:
        with pytest.raises(openai.BadRequestError, match=message):
            client.responses.create(model=MODEL, input="hi", prompt=prompt)


LSC_SCRIPT = r"""
import json, sys
import llama_stack_client as lsc
from llama_stack_client import LlamaStackClient

url, model = sys.argv[1], sys.argv[2]
alice = LlamaStackClient(base_url=url, api_key="tok-alice", max_retries=0)
bob = LlamaStackClient(base_url=url, api_key="tok-bob", max_retries=0)
out = {}
made = alice.prompts.create(prompt="You are a {{ role }} assistant.", variables=["role"])
out["made"] = [made.prompt_id[:5], made.version, made.variables]
out["retrieved"] = alice.prompts.retrieve(made.prompt_id).prompt
v2 = alice.prompts.update(made.prompt_id, prompt="Be {{ role }}.", version=1, variables=["role"])
out["v2"] = [v2.version, v2.is_default]
out["versions"] = [p.version for p in alice.prompts.versions.list(made.prompt_id)]
out["v1"] = alice.prompts.retrieve(made.prompt_id, version=1).prompt
out["default"] = alice.prompts.set_default_version(made.prompt_id, version=1).version
out["listed"] = made.prompt_id in [p.prompt_id for p in alice.prompts.list()]
out["bob_lists"] = made.prompt_id in [p.prompt_id for p in bob.prompts.list()]
errors = {}
for name, call in {
    "bob_retrieve": lambda: bob.prompts.retrieve(made.prompt_id),
    "stale_update": lambda: alice.prompts.update(made.prompt_id, prompt="x", version=1),
    "undeclared": lambda: alice.prompts.create(prompt="{{x}}", variables=[]),
}.items():
    try:
        call()
        errors[name] = None
    except lsc.APIStatusError as exc:
        errors[name] = [type(exc).__name__, exc.status_code]
out["errors"] = errors
response = alice.responses.create(
    model=model,
    input="hi",
    prompt={"id": made.prompt_id, "variables": {"role": {"type": "input_text", "text": "kind"}}},
)
out["response"] = [response.prompt.id == made.prompt_id, response.output_text]
alice.prompts.delete(made.prompt_id)
out["deleted"] = made.prompt_id not in [p.prompt_id for p in alice.prompts.list()]
print(json.dumps(out))
"""


def test_llama_stack_client(server: BackgroundServer, model: ScriptedModelServer) -> None:
    model.script(say("Hello."))
    run = subprocess.run(
        [str(client_python()), "-c", LSC_SCRIPT, server.url, MODEL],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["made"] == ["pmpt_", 1, ["role"]]
    assert out["retrieved"] == "You are a {{ role }} assistant."
    assert out["v2"] == [2, True] and out["versions"] == [1, 2]
    assert out["v1"] == "You are a {{ role }} assistant." and out["default"] == 1
    assert out["listed"] is True and out["bob_lists"] is False
    assert out["errors"] == {
        "bob_retrieve": ["NotFoundError", 404],
        "stale_update": ["BadRequestError", 400],
        "undeclared": ["BadRequestError", 400],
    }
    assert out["response"] == [True, "Hello."]
    assert model.requests[-1]["messages"][0] == {
        "role": "system",
        "content": "You are a kind assistant.",
    }
    assert out["deleted"] is True
