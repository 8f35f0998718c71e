"""Run config loading: env substitution and one precise message per bad config."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llama_workbench.core.config import load_config, substitute_env
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import ConfigError
from llama_workbench.core.resolver import plan_stack
from llama_workbench.providers.registry import default_registry

GOOD = """\
version: 2
distro_name: t
apis: [inference]
providers:
  inference:
  - provider_id: vllm
    provider_type: remote::vllm
    config:
      base_url: http://127.0.0.1:9/v1
"""


def check(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    """Load + plan a config; return the ConfigError message (the test fails if none is raised)."""
    path = tmp_path / "run.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ConfigError) as info:
        plan_stack(load_config(path, env or {}), default_registry())
    return str(info.value)


def test_good_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(GOOD)
    plan = plan_stack(load_config(path, {}), default_registry())
    assert [p.provider_id for p in plan.providers["inference"]] == ["vllm"]
    assert plan.order == ["inference"]


def test_unknown_top_level_key(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD + "apy: [inference]\n")
    assert "run.yaml:10: apy is not a known setting" in msg


def test_malformed_provider_type(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD.replace("remote::vllm", "remote:vllm"))
    assert "run.yaml:7: providers.inference[0].provider_type = 'remote:vllm'" in msg
    assert "expected text matching" in msg


def test_unknown_provider_type_lists_known(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD.replace("remote::vllm", "remote::nope"))
    assert "run.yaml:7: providers.inference[0].provider_type" in msg
    assert "Unknown provider type 'remote::nope' for API 'inference'" in msg
    assert "remote::ollama" in msg and "inline::transformers" in msg


def test_provider_config_bad_value(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD + "      timeout_s: soon\n")
    assert "run.yaml:10: providers.inference[0].config.timeout_s = 'soon'" in msg
    assert "valid number" in msg


def test_provider_config_unknown_setting(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD.replace("base_url:", "base_ur:"))
    assert "run.yaml:9: providers.inference[0].config.base_ur is not a known setting" in msg


def test_unknown_api_name(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD.replace("apis: [inference]", "apis: [inferense]"))
    assert "run.yaml:3: apis[0] = 'inferense'" in msg
    assert "'inference'" in msg  # the expected values are listed


def test_api_without_providers(tmp_path: Path) -> None:
    msg = check(tmp_path, "version: 2\napis: [inference]\n")
    assert "API 'inference' is enabled but has no providers" in msg


def test_file_processors_need_a_provider(tmp_path: Path) -> None:
    # The last API of Llama Stack 0.7.3's list to arrive: every API name is available now.
    msg = check(tmp_path, GOOD.replace("apis: [inference]", "apis: [inference, file_processors]"))
    assert "API 'file_processors' is enabled but has no providers" in msg
    assert "not available in this version" not in msg


def test_duplicate_provider_id_is_reported_and_the_first_started(tmp_path: Path) -> None:
    # Llama Stack's own nvidia/run-with-safety.yaml names 'nvidia' twice in inference.
    path = tmp_path / "run.yaml"
    path.write_text(GOOD + "  - provider_id: vllm\n    provider_type: remote::ollama\n")
    config = load_config(path, {})
    plan = plan_stack(config, default_registry())
    assert [p.spec.provider_type for p in plan.providers[Api.inference]] == ["remote::vllm"]
    assert [str(n) for n in config.compat_notes] == [
        "providers.inference[1].provider_id: 'vllm' is used twice in inference; "
        "the first one is started"
    ]
    assert config.compat_notes[0].where == f"{path}:10"


def test_unset_environment_variable(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD.replace("http://127.0.0.1:9/v1", "${env.MY_VLLM_URL}"))
    assert "providers.inference[0].config.base_url" in msg
    assert "environment variable MY_VLLM_URL is not set" in msg


def test_bad_reference_syntax(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD.replace("http://127.0.0.1:9/v1", "${env.}"))
    assert "'${env.}' is not a valid reference" in msg


def test_unknown_storage_backend_type(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD + "storage:\n  backends:\n    kv_default:\n      type: kv_mongo\n")
    assert "run.yaml:12: storage.backends.kv_default" in msg
    assert "kv_sqlite" in msg and "kv_mongo" in msg


def test_store_with_unknown_backend(tmp_path: Path) -> None:
    text = GOOD + "storage:\n  stores:\n    metadata:\n      backend: nowhere\n      namespace: r\n"
    msg = check(tmp_path, text)
    assert "storage.stores.metadata.backend: 'nowhere' is not a backend" in msg
    assert "kv_default" in msg


def test_model_with_unknown_provider(tmp_path: Path) -> None:
    text = GOOD + "registered_resources:\n  models:\n  - model_id: m\n    provider_id: ghost\n"
    msg = check(tmp_path, text)
    assert "registered_resources.models[0].provider_id: 'ghost' is not an inference provider" in msg


def test_port_out_of_range(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD + "server:\n  port: 70000\n")
    assert "run.yaml:11: server.port = 70000" in msg and "65535" in msg


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD + "  - provider_id: [unclosed\n")
    assert "run.yaml:" in msg and "invalid YAML" in msg


def test_root_must_be_mapping(tmp_path: Path) -> None:
    msg = check(tmp_path, "- inference\n")
    assert "a run config is a mapping" in msg


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="Run config file not found"):
        load_config("/nonexistent/run.yaml")


def test_several_problems_in_one_message(tmp_path: Path) -> None:
    msg = check(
        tmp_path, GOOD.replace("apis: [inference]", "apis: [nope]") + "server:\n  port: x\n"
    )
    assert "(2 problems)" in msg and "apis[0]" in msg and "server.port" in msg


def test_errors_are_messages_not_pydantic_dumps(tmp_path: Path) -> None:
    msg = check(tmp_path, GOOD + "      max_retries: -1\n")
    assert "pydantic" not in msg and "errors.pydantic.dev" not in msg
    assert "providers.inference[0].config.max_retries = -1" in msg


# ----------------------------------------------------------------------------- substitution


def test_env_substitution_forms() -> None:
    env = {"A": "1", "EMPTY": ""}
    data = {
        "plain": "${env.A}",
        "default_used": "${env.B:=fallback}",
        "default_unused": "${env.A:=fallback}",
        "empty_gets_default": "${env.EMPTY:=d}",
        "conditional_on": "${env.A:+yes}",
        "conditional_off": "${env.B:+yes}",
        "embedded": "http://${env.A}:${env.B:=80}/v1",
        "nested": [{"x": "${env.A}"}],
        "number": 3,
    }
    out = substitute_env(data, env)
    assert out == {
        "plain": "1",
        "default_used": "fallback",
        "default_unused": "1",
        "empty_gets_default": "d",
        "conditional_on": "yes",
        "conditional_off": None,
        "embedded": "http://1:80/v1",
        "nested": [{"x": "1"}],
        "number": 3,
    }


def test_provider_enabled_only_when_variable_set(tmp_path: Path) -> None:
    text = GOOD + "  - provider_id: ${env.OLLAMA_URL:+ollama}\n    provider_type: remote::ollama\n"
    path = tmp_path / "run.yaml"
    path.write_text(text)
    assert [p.provider_id for p in load_config(path, {}).providers["inference"]] == ["vllm"]
    enabled = load_config(path, {"OLLAMA_URL": "http://x"}).providers["inference"]
    assert [p.provider_id for p in enabled] == ["vllm", "ollama"]


def test_config_from_dict_and_data_dir_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config({"distro_name": "d"}, {})
    monkeypatch.setenv("LLAMA_WORKBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LLAMA_WORKBENCH_DATA_DIR", raising=False)
    assert config.resolved_data_dir() == tmp_path / "home" / "d"
    monkeypatch.setenv("LLAMA_WORKBENCH_DATA_DIR", str(tmp_path / "x"))
    assert config.resolved_data_dir() == tmp_path / "x"
    explicit = load_config({"distro_name": "d", "data_dir": str(tmp_path / "y")}, {})
    assert explicit.resolved_data_dir() == tmp_path / "y"
