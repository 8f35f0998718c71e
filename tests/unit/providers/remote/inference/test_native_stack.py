"""A Llama Stack 0.7.3 run config naming remote::anthropic, bedrock, vertexai, watsonx, oci and
passthrough with 0.7.3's own keys loads with no note and builds; chats route through the stack
to stand-ins on 127.0.0.1; and provider data reaches them as it does over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from llama_workbench.core.config import load_config
from llama_workbench.core.datatypes import Api
from llama_workbench.core.provider_data import provider_data
from llama_workbench.core.resolver import plan_stack
from llama_workbench.core.stack import Stack
from llama_workbench.providers.registry import default_registry
from tests.support import anthropic_api
from tests.support.hosted_stub import HostedStub
from tests.support.watsonx_api import API_KEY, CHAT, PROJECT, WatsonX


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[HostedStub, HostedStub]]:
    with HostedStub(anthropic_api.routes) as claude, HostedStub(WatsonX().routes) as ibm:
        yield claude, ibm


def run_config(
    tmp_path: Path, claude: str = "http://127.0.0.1:9", ibm: str = "http://127.0.0.1:9"
) -> Path:
    """The providers as Llama Stack 0.7.3's sample configs write them (plus where the
    stand-ins are: base_url, iam_url)."""
    providers: list[dict[str, Any]] = [
        {"provider_id": "anthropic", "provider_type": "remote::anthropic",
         "config": {"api_key": "${env.ANTHROPIC_API_KEY:=}", "base_url": f"{claude}/v1",
                    "network": {"timeout": 30}, "refresh_models": False}},
        {"provider_id": "bedrock", "provider_type": "remote::bedrock",
         "config": {"api_key": "${env.AWS_BEARER_TOKEN_BEDROCK:=}",
                    "region_name": "${env.AWS_DEFAULT_REGION:=us-east-2}"}},
        {"provider_id": "vertexai", "provider_type": "remote::vertexai",
         "config": {"project": "p", "location": "global", "access_token": "ya29.x"}},
        {"provider_id": "watsonx", "provider_type": "remote::watsonx",
         "config": {"base_url": ibm, "api_key": "${env.WATSONX_API_KEY:=}", "project_id": PROJECT,
                    "timeout": 30, "iam_url": f"{ibm}/identity/token", "allowed_models": [CHAT]}},
        {"provider_id": "oci", "provider_type": "remote::oci",
         "config": {"oci_auth_type": "config_file", "oci_config_file_path": "~/.oci/config",
                    "oci_config_profile": "DEFAULT", "oci_region": "us-ashburn-1",
                    "oci_compartment_id": "ocid1.compartment.oc1..x"}},
        {"provider_id": "passthrough", "provider_type": "remote::passthrough",
         "config": {"base_url": "http://127.0.0.1:9", "api_key": "${env.PASSTHROUGH_API_KEY:=}"}},
    ]  # fmt: skip
    data = {
        "version": 2,
        "distro_name": "hosted",
        "data_dir": str(tmp_path / "data"),
        "apis": ["inference"],
        "providers": {"inference": providers},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_llama_stack_keys_load_with_no_note(tmp_path: Path) -> None:
    config = load_config(run_config(tmp_path), env={})
    plan = plan_stack(config, default_registry())
    assert config.compat_notes == []
    planned = {p.provider_id: p.config for p in plan.providers[Api.inference]}
    assert set(planned) == {"anthropic", "bedrock", "vertexai", "watsonx", "oci", "passthrough"}
    assert planned["watsonx"].timeout_s == 30  # type: ignore[attr-defined]
    assert planned["watsonx"].models == [CHAT] and not planned["watsonx"].discover_models  # type: ignore[attr-defined]
    assert planned["vertexai"].api_key.get_secret_value() == "ya29.x"  # type: ignore[attr-defined]
    assert planned["anthropic"].timeout_s == 30  # type: ignore[attr-defined]
    assert planned["bedrock"].base_url == "https://bedrock-mantle.us-east-2.api.aws/v1"  # type: ignore[attr-defined]


def test_chats_route_to_the_services(
    tmp_path: Path, services: tuple[HostedStub, HostedStub]
) -> None:
    claude, ibm = services
    path = run_config(tmp_path, claude.url, ibm.url)
    env = {"ANTHROPIC_API_KEY": anthropic_api.KEY, "WATSONX_API_KEY": API_KEY}
    hi = [{"role": "user", "content": "hi"}]
    with Stack.from_config(path, env=env) as stack:
        ids = {m.identifier for m in stack.models.list()}
        assert {"anthropic/claude-sonnet-4-5", f"watsonx/{CHAT}"} <= ids
        reply = stack.inference.chat_completion(model="anthropic/claude-sonnet-4-5", messages=hi)
        assert reply.choices[0].message.content == "echo: hi"
        reply = stack.inference.chat_completion(model=f"watsonx/{CHAT}", messages=hi)
        assert reply.choices[0].message.content == "echo: hi"
    with Stack.from_config(path, env={}) as stack:  # no keys configured: the caller's own
        with provider_data({"anthropic_api_key": anthropic_api.KEY}):
            reply = stack.inference.chat_completion(
                model="anthropic/claude-sonnet-4-5", messages=hi
            )
        assert reply.choices[0].message.content == "echo: hi"
