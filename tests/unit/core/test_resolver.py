"""Resolver: provider lookup, dependency order and cycles, protocol compliance, entry points."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_workbench import Stack
from llama_workbench.core.config import load_config
from llama_workbench.core.datatypes import Api, ProviderSpec
from llama_workbench.core.errors import ConfigError, ResolverError
from llama_workbench.core.resolver import (
    PlannedProvider,
    StackPlan,
    _dependency_order,
    check_protocol,
    plan_stack,
)
from llama_workbench.providers.registry import ProviderRegistry
from tests.support.providers import broken, echo


def registry_with(*specs: ProviderSpec) -> ProviderRegistry:
    registry = ProviderRegistry.default()
    for spec in specs:
        registry.add(spec)
    return registry


def echo_config(tmp_path: Path, provider_type: str = "inline::echo") -> dict:
    return {
        "data_dir": str(tmp_path),
        "apis": ["inference"],
        "providers": {
            "inference": [{"provider_id": "e", "provider_type": provider_type, "config": {}}]
        },
    }


def test_provider_from_a_registry_entry(tmp_path: Path) -> None:
    with Stack.from_config(echo_config(tmp_path), registry=registry_with(echo.SPEC)) as stack:
        assert [m.identifier for m in stack.models.list()] == ["e/echo-1"]
        reply = stack.inference.chat_completion(
            model="echo-1", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "echo: hi"


def test_provider_that_breaks_its_protocol_fails_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ResolverError) as info:
        Stack.from_config(
            echo_config(tmp_path, "inline::broken"), registry=registry_with(broken.SPEC)
        )
    msg = str(info.value)
    assert "provider 'e' (inline::broken) does not implement InferenceProvider" in msg
    assert "chat_completion() must be 'async def'" in msg
    assert "missing method embeddings()" in msg
    assert "completion() must accept (request)" in msg


def test_check_protocol_accepts_a_complete_implementation() -> None:
    from llama_workbench.apis.inference.api import InferenceProvider

    check_protocol(echo.EchoInference(echo.EchoConfig(), None), InferenceProvider, "echo")  # type: ignore[arg-type]


def test_missing_api_dependency_is_a_config_error(tmp_path: Path) -> None:
    needy = ProviderSpec(
        api=Api.inference,
        provider_type="inline::needs-safety",
        module=echo.SPEC.module,
        config_class=echo.SPEC.config_class,
        api_dependencies=(Api.safety,),
    )
    config = load_config(echo_config(tmp_path, "inline::needs-safety"), {})
    with pytest.raises(
        ConfigError,
        match="provider 'e' \\(inline::needs-safety\\) needs the 'safety' API, which this config does not enable",
    ):
        plan_stack(config, registry_with(needy))


def _planned(api: Api, *deps: Api) -> PlannedProvider:
    spec = ProviderSpec(
        api=api,
        provider_type=f"inline::{api}",
        module="m",
        config_class="m:C",
        api_dependencies=deps,
    )
    return PlannedProvider(api=api, provider_id=api.value, spec=spec, config=echo.EchoConfig())


def test_dependency_order_puts_dependencies_first() -> None:
    plan = StackPlan(config=load_config({}, {}), order=[])
    plan.providers = {
        Api.responses: [_planned(Api.responses, Api.inference, Api.safety, Api.vector_io)],
        Api.safety: [_planned(Api.safety, Api.inference)],
        Api.vector_io: [
            _planned(Api.vector_io, Api.models)
        ],  # a table API resolves to its router's API
        Api.inference: [_planned(Api.inference)],
    }
    order = _dependency_order(plan)
    assert order.index(Api.inference) < order.index(Api.safety) < order.index(Api.responses)
    assert order.index(Api.inference) < order.index(Api.vector_io) < order.index(Api.responses)


def test_dependency_cycle_is_named() -> None:
    plan = StackPlan(config=load_config({}, {}), order=[])
    plan.providers = {
        Api.inference: [_planned(Api.inference, Api.safety)],
        Api.safety: [_planned(Api.safety, Api.vector_io)],
        Api.vector_io: [_planned(Api.vector_io, Api.inference)],
    }
    with pytest.raises(
        ResolverError,
        match="Provider dependency cycle: inference -> safety -> vector_io -> inference",
    ):
        _dependency_order(plan)


def test_third_party_provider_through_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package that declares the entry point (as pip would install it) is found without code changes."""
    site = tmp_path / "site"
    dist = site / "llama_workbench_echo-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: llama-workbench-echo\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(
        "[llama_workbench.providers]\necho = tests.support.providers.echo:SPEC\n"
    )
    monkeypatch.syspath_prepend(str(site))
    registry = ProviderRegistry.default()
    spec = registry.get(Api.inference, "inline::echo")
    assert spec.source == "entry point echo"
    assert "inline::echo" in [s.provider_type for s in registry.list(Api.inference)]
    with Stack.from_config(echo_config(tmp_path), registry=registry) as stack:
        assert stack.models.retrieve("echo-1").provider_id == "e"


def test_broken_entry_point_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    dist = site / "bad_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[llama_workbench.providers]\nbad = no_such_module:SPEC\n"
    )
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(
        ConfigError, match="The provider entry point 'bad = no_such_module:SPEC' failed to load"
    ):
        ProviderRegistry.default().list()
