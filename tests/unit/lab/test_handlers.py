"""The /llama-workbench/ handlers in a real jupyter_server: read, validate, save, providers, tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from llama_workbench.distributions import distribution_path
from llama_workbench.lab.store import MASK
from tests.support.stub_server import StubOpenAIServer, free_port
from tests.unit.lab.conftest import Answer, Fetch

SECRET = "sk-live-0123456789abcdef"

RUN_YAML = f"""\
# my stack
version: 2
distro_name: mine
apis:
- inference
providers:
  inference:
  # the GPU box
  - provider_id: vllm
    provider_type: remote::vllm
    config:
      base_url: ${{env.VLLM_URL:=http://127.0.0.1:9/v1}}
      api_key: {SECRET}
  - provider_id: openai
    provider_type: remote::openai
    config:
      api_key: ${{env.OPENAI_API_KEY}}  # from the environment
registered_resources:
  models:
  - model_id: chat
    provider_id: vllm
    provider_model_id: m1
  - model_id: lost
    provider_id: gone
server:
  port: 8321
"""


@pytest.fixture
def run_yaml(root: Path) -> Path:
    path = root / "run.yaml"
    path.write_text(RUN_YAML)
    return path


def _provider(answer: Answer, api: str, provider_id: str) -> dict:
    group = next(a for a in answer.json()["apis"] if a["api"] == api)
    return next(p for p in group["providers"] if p["provider_id"] == provider_id)


# ----------------------------------------------------------------------------- reading


def test_a_missing_config_offers_the_distributions(fetch: Fetch) -> None:
    answer = fetch("config")
    assert answer.code == 200
    state = answer.json()
    assert state["exists"] is False and state["path"] == "run.yaml"
    assert {"starter", "remote"} <= {d["name"] for d in state["distributions"]}


def test_the_config_shows_apis_providers_resources_and_status(fetch: Fetch, run_yaml: Path) -> None:
    state = fetch("config").json()
    assert state["exists"] and state["valid"], state["problems"]
    assert state["revision"]
    vllm = _provider(fetch("config"), "inference", "vllm")
    assert vllm["status"] == "ok"
    assert vllm["resources"] == [
        {"kind": "models", "id": "chat", "provider_id": "vllm", "status": "ok"}
    ]
    # ${env.X} references are shown as written, never expanded.
    assert vllm["config"]["base_url"] == "${env.VLLM_URL:=http://127.0.0.1:9/v1}"
    assert _provider(fetch("config"), "inference", "openai")["config"]["api_key"] == (
        "${env.OPENAI_API_KEY}"
    )
    lost = next(r for r in state["resources"] if r["id"] == "lost")
    assert lost["status"] == "unknown provider 'gone'"
    assert any("OPENAI_API_KEY is not set" in w for w in state["warnings"])


def test_a_distribution_is_a_starting_point(fetch: Fetch, root: Path) -> None:
    answer = fetch("config", "distribution", method="POST", body={"distribution": "remote"})
    assert answer.code == 200, answer.text
    assert (root / "run.yaml").read_text() == distribution_path("remote").read_text()
    state = answer.json()
    assert state["saved"] == {"path": "run.yaml", "backup": None}
    assert _provider(answer, "inference", "${env.OLLAMA_URL:+ollama}")["status"] == "disabled"
    unknown = fetch("config", "distribution", method="POST", body={"distribution": "nope"})
    assert unknown.code == 404 and "starter" in unknown.json()["message"]


# ----------------------------------------------------------------------------- validating, saving


def test_validate_reports_problems_by_loc(fetch: Fetch, run_yaml: Path) -> None:
    config = yaml.safe_load(RUN_YAML)
    config["server"]["port"] = "eighty"
    config["providers"]["inference"][0]["config"]["max_retries"] = 50
    config["providers"]["inference"][0]["config"]["api_key"] = MASK
    config["colour"] = "blue"
    answer = fetch("config", "validate", method="POST", body={"config": config})
    assert answer.code == 200
    result = answer.json()
    assert result["valid"] is False
    locs = {tuple(p["loc"]): p["message"] for p in result["problems"]}
    assert "is not a known setting" in locs[("colour",)]
    assert "integer" in locs[("server", "port")]
    assert run_yaml.read_text() == RUN_YAML  # validating never writes


def test_provider_problems_point_at_their_fields(fetch: Fetch) -> None:
    body = {
        "api": "inference",
        "provider_type": "remote::vllm",
        "config": {"max_retries": 50, "timeout_s": "soon", "colour": 1},
    }
    result = fetch("providers", "validate", method="POST", body=body).json()
    locs = {tuple(p["loc"]): p["message"] for p in result["problems"]}
    assert set(locs) == {("config", "max_retries"), ("config", "timeout_s"), ("config", "colour")}
    assert "less than or equal to 10" in locs[("config", "max_retries")]
    ok = {**body, "config": {"base_url": "http://127.0.0.1:9/v1"}}
    assert fetch("providers", "validate", method="POST", body=ok).json()["valid"] is True


def test_save_writes_atomically_with_a_backup_and_keeps_env_refs(
    fetch: Fetch, run_yaml: Path
) -> None:
    state = fetch("config").json()
    config = state["config"]
    assert config["providers"]["inference"][0]["config"]["api_key"] == MASK
    config["server"]["port"] = 9000
    answer = fetch("config", method="PUT", body={"config": config, "revision": state["revision"]})
    assert answer.code == 200, answer.text
    assert answer.json()["saved"] == {"path": "run.yaml", "backup": "run.yaml.bak"}
    assert (run_yaml.parent / "run.yaml.bak").read_text() == RUN_YAML
    saved = yaml.safe_load(run_yaml.read_text())
    assert saved["server"]["port"] == 9000
    inference = saved["providers"]["inference"]
    assert inference[0]["config"]["api_key"] == SECRET  # the mask kept the stored secret
    assert inference[0]["config"]["base_url"] == "${env.VLLM_URL:=http://127.0.0.1:9/v1}"
    assert inference[1]["config"]["api_key"] == "${env.OPENAI_API_KEY}"
    assert not [p for p in run_yaml.parent.iterdir() if p.name.endswith(".tmp")]
    # Edited in place: the comments, order and the rest of the text are as the user wrote them.
    assert run_yaml.read_text() == RUN_YAML.replace("port: 8321", "port: 9000")
    # The old revision is stale now: a second save from the old state is refused.
    stale = fetch("config", method="PUT", body={"config": config, "revision": state["revision"]})
    assert stale.code == 409 and "changed on disk" in stale.json()["message"]


def test_an_invalid_config_is_not_saved(fetch: Fetch, run_yaml: Path) -> None:
    config = fetch("config").json()["config"]
    config["server"]["port"] = 0
    answer = fetch("config", method="PUT", body={"config": config})
    assert answer.code == 400
    assert [p["loc"] for p in answer.json()["problems"]] == [["server", "port"]]
    assert run_yaml.read_text() == RUN_YAML


def test_add_edit_and_remove_a_provider(fetch: Fetch, run_yaml: Path) -> None:
    new = {
        "provider_id": "groq",
        "provider_type": "remote::groq",
        "config": {"api_key": "gsk-secret-value", "max_retries": 1},
    }
    added = fetch("config", "providers", "inference", method="POST", body=new)
    assert added.code == 201, added.text
    assert _provider(added, "inference", "groq")["config"]["api_key"] == MASK
    stored = yaml.safe_load(run_yaml.read_text())["providers"]["inference"][-1]
    assert stored == {**new, "config": new["config"]}
    assert fetch("config", "providers", "inference", method="POST", body=new).code == 409

    edit = {"provider_type": "remote::groq", "config": {"api_key": MASK, "max_retries": 3}}
    edited = fetch("config", "providers", "inference", "groq", method="PUT", body=edit)
    assert edited.code == 200, edited.text
    stored = yaml.safe_load(run_yaml.read_text())["providers"]["inference"][-1]
    assert stored["config"] == {"api_key": "gsk-secret-value", "max_retries": 3}

    removed = fetch("config", "providers", "inference", "groq", method="DELETE")
    assert removed.code == 200
    ids = [p["provider_id"] for p in yaml.safe_load(run_yaml.read_text())["providers"]["inference"]]
    assert ids == ["vllm", "openai"]
    assert run_yaml.read_text() == RUN_YAML  # added, edited and removed: back to the same text
    missing = fetch("config", "providers", "inference", "groq", method="DELETE")
    assert missing.code == 404 and "vllm" in missing.json()["message"]


def test_a_new_api_is_listed_when_its_first_provider_is_added(fetch: Fetch, root: Path) -> None:
    body = {"provider_id": "pii", "provider_type": "inline::pii", "config": {}}
    answer = fetch("config", "providers", "safety", method="POST", body=body)
    assert answer.code == 201, answer.text
    saved = yaml.safe_load((root / "run.yaml").read_text())
    assert saved["apis"] == ["safety"] and saved["providers"]["safety"][0]["provider_id"] == "pii"


def test_an_invalid_provider_is_not_saved(fetch: Fetch, run_yaml: Path) -> None:
    body = {"provider_id": "v2", "provider_type": "remote::vllm", "config": {"max_retries": -1}}
    answer = fetch("config", "providers", "inference", method="POST", body=body)
    assert answer.code == 400
    assert answer.json()["problems"][0]["loc"] == ["config", "max_retries"]
    assert run_yaml.read_text() == RUN_YAML


# ----------------------------------------------------------------------------- secrets


def test_secrets_never_leave_the_server(fetch: Fetch, run_yaml: Path) -> None:
    state = fetch("config").json()
    answers = [
        fetch("config"),
        fetch("providers"),
        fetch("config", "validate", method="POST", body={"config": state["config"]}),
        fetch(
            "providers",
            "validate",
            method="POST",
            body={
                "api": "inference",
                "provider_type": "remote::vllm",
                "provider_id": "vllm",
                "config": {"api_key": MASK, "timeout_s": "soon"},
            },
        ),
        fetch(
            "providers",
            "test",
            method="POST",
            body={
                "api": "inference",
                "provider_type": "remote::vllm",
                "provider_id": "vllm",
                "config": {"api_key": MASK, "base_url": f"http://127.0.0.1:{free_port()}/v1"},
            },
        ),
        fetch(
            "config",
            "providers",
            "inference",
            "vllm",
            method="PUT",
            body={"provider_type": "remote::vllm", "config": {"api_key": MASK, "models": ["m"]}},
        ),
        # A secret in the wrong type: the error names the field, not the value.
        fetch(
            "config",
            "providers",
            "inference",
            method="POST",
            body={
                "provider_id": "x",
                "provider_type": "remote::vllm",
                "config": {"api_key": {"nested": SECRET}},
            },
        ),
    ]
    for answer in answers:
        assert SECRET not in answer.text, answer.text
        assert "nested" not in answer.text or "api_key" not in answer.text
    assert (
        yaml.safe_load(run_yaml.read_text())["providers"]["inference"][0]["config"]["api_key"]
        == SECRET
    )


def test_a_mask_with_nothing_stored_is_refused(fetch: Fetch, run_yaml: Path) -> None:
    body = {"provider_id": "groq", "provider_type": "remote::groq", "config": {"api_key": MASK}}
    answer = fetch("config", "providers", "inference", method="POST", body=body)
    assert answer.code == 400
    assert "no secret is stored" in answer.json()["message"]


# ----------------------------------------------------------------------------- test connection


def test_connection_lists_the_models_of_a_server(fetch: Fetch, run_yaml: Path) -> None:
    with StubOpenAIServer(models=["m1", "m2"], api_key="k-123") as server:
        body = {
            "api": "inference",
            "provider_type": "remote::openai",
            "config": {"base_url": server.base_url, "api_key": "k-123"},
        }
        answer = fetch("providers", "test", method="POST", body=body)
        assert answer.code == 200
        assert answer.json() == {
            "ok": True,
            "url": f"{server.base_url}/models",
            "models": ["m1", "m2"],
            "message": "2 model(s)",
        }
        refused = fetch(
            "providers",
            "test",
            method="POST",
            body={**body, "config": {"base_url": server.base_url, "api_key": "wrong-key"}},
        ).json()
        assert refused["ok"] is False
        assert "401" in refused["message"] and "Invalid API key" in refused["message"]
        assert "wrong-key" not in json.dumps(refused)


def test_connection_uses_the_stored_key_when_the_mask_comes_back(fetch: Fetch, root: Path) -> None:
    with StubOpenAIServer(models=["m1"], api_key=SECRET) as server:
        (root / "run.yaml").write_text(
            RUN_YAML.replace("${env.VLLM_URL:=http://127.0.0.1:9/v1}", server.base_url)
        )
        body = {
            "api": "inference",
            "provider_type": "remote::vllm",
            "provider_id": "vllm",
            "config": {"base_url": server.base_url, "api_key": MASK},
        }
        answer = fetch("providers", "test", method="POST", body=body).json()
        assert answer["ok"] is True and answer["models"] == ["m1"]
        assert server.requests[-1]["headers"]["authorization"] == f"Bearer {SECRET}"


def test_connection_errors_are_readable(fetch: Fetch) -> None:
    port = free_port()
    body = {
        "api": "inference",
        "provider_type": "remote::vllm",
        "config": {"base_url": f"http://127.0.0.1:{port}/v1"},
    }
    answer = fetch("providers", "test", method="POST", body=body).json()
    assert answer["ok"] is False
    assert (
        answer["message"]
        == f"Could not connect to http://127.0.0.1:{port}/v1/models (is the server running?)"
    )
    with StubOpenAIServer(models=["m1"]) as server:
        wrong_path = server.base_url.removesuffix("/v1") + "/api"
        body["config"] = {"base_url": wrong_path}
        answer = fetch("providers", "test", method="POST", body=body).json()
        assert answer["ok"] is False and answer["message"] == (
            f"{wrong_path}/models: Provider resource '/api/models' not found. "
            "The server said: Not Found"
        )
    inline = {"api": "inference", "provider_type": "inline::transformers", "config": {}}
    refused = fetch("providers", "test", method="POST", body=inline)
    assert refused.code == 400 and "base_url" in refused.json()["message"]


# ----------------------------------------------------------------------------- catalogue


def test_the_catalogue_has_every_provider_with_its_schema(fetch: Fetch) -> None:
    entries = fetch("providers").json()["providers"]
    by_type = {(e["api"], e["provider_type"]): e for e in entries}
    vllm = by_type[("inference", "remote::vllm")]
    assert vllm["testable"] is True and vllm["secrets"] == ["api_key"]
    assert vllm["schema"]["properties"]["api_key"]["anyOf"][0]["writeOnly"] is True
    assert by_type[("inference", "inline::transformers")]["testable"] is False
    assert ("safety", "inline::pii") in by_type
    safety = fetch("providers", params={"api": "safety"}).json()["providers"]
    assert {e["api"] for e in safety} == {"safety"}
    assert fetch("providers", params={"api": "nope"}).code == 400


def test_listing_schemas_loads_no_model_code() -> None:
    code = (
        "import sys; from llama_workbench.lab.overview import catalogue; catalogue(); "
        "heavy = {'torch', 'transformers', 'faiss', 'sentence_transformers'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ----------------------------------------------------------------------------- refusals


def test_requests_without_credentials_are_refused(fetch: Fetch, run_yaml: Path) -> None:
    no_token = {"Authorization": ""}
    assert fetch("config", headers=no_token).code == 403
    put = fetch("config", method="PUT", body={"config": {}}, headers=no_token)
    assert put.code == 403
    assert run_yaml.read_text() == RUN_YAML


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("../outside.yaml", 403, "outside the allowed"),
        ("/etc/llama.yaml", 403, "outside the allowed"),
        ("notes.txt", 400, ".yaml or .yml"),
        ("link/run.yaml", 403, "outside the allowed"),
    ],
)
def test_paths_outside_the_allowed_dirs_are_refused(
    fetch: Fetch,
    root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    path: str,
    status: int,
    words: str,
) -> None:
    os.symlink(tmp_path_factory.mktemp("elsewhere"), root / "link")
    for answer in (
        fetch("config", params={"path": path}),
        fetch(
            "config", "distribution", method="POST", body={"path": path, "distribution": "starter"}
        ),
    ):
        assert answer.code == status, answer.text
        assert words in answer.json()["message"]
    assert not (root.parent / "outside.yaml").exists()


def test_a_file_in_the_workbench_home_is_allowed(fetch: Fetch) -> None:
    home = Path(os.environ["LLAMA_WORKBENCH_HOME"])
    target = home / "lab-test" / "run.yaml"
    answer = fetch(
        "config",
        "distribution",
        method="POST",
        body={"path": str(target), "distribution": "starter"},
    )
    assert answer.code == 200, answer.text
    assert target.is_file()


@pytest.mark.parametrize(
    ("parts", "method", "body", "status", "words"),
    [
        (("config",), "PUT", "{not json", 400, "not valid JSON"),
        (("config",), "PUT", "[1, 2]", 400, "JSON object"),
        (("config",), "PUT", {"config": "text"}, 400, "'config' must be a mapping"),
        (("config",), "PUT", {"config": {}, "path": 3}, 400, "'path' must be a string"),
        (
            ("config", "providers", "inference"),
            "POST",
            {"provider_type": "remote::vllm"},
            400,
            "'provider_id' is required",
        ),
        (
            ("config", "providers", "inference"),
            "POST",
            {"provider_id": "x"},
            400,
            "'provider_type' is required",
        ),
        (
            ("config", "providers", "inference"),
            "POST",
            {"provider_id": "x", "provider_type": "remote::nope"},
            400,
            "Known: ",
        ),
        (
            ("config", "providers", "nope"),
            "POST",
            {"provider_id": "x", "provider_type": "remote::vllm"},
            400,
            "Unknown API 'nope'",
        ),
        (
            ("providers", "test"),
            "POST",
            {"provider_type": "remote::vllm"},
            400,
            "'api' is required",
        ),
        (("config", "distribution"), "POST", {}, 400, "'distribution' must name"),
    ],
)
def test_bad_payloads_get_a_4xx_naming_the_problem(
    fetch: Fetch,
    run_yaml: Path,
    parts: tuple[str, ...],
    method: str,
    body: object,
    status: int,
    words: str,
) -> None:
    answer = fetch(*parts, method=method, body=body)
    assert answer.code == status, answer.text
    assert words in answer.json()["message"]
    assert run_yaml.read_text() == RUN_YAML
