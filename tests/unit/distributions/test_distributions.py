"""Bundled distributions: listed with descriptions, and they build offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_workbench import Stack, list_distributions
from llama_workbench.core.errors import NotFoundError
from llama_workbench.distributions import distribution_path
from tests.support.stub_server import StubOpenAIServer


def test_listed_with_descriptions() -> None:
    found = {d.name: d for d in list_distributions()}
    assert {"starter", "remote"} <= set(found)
    assert "offline embedded default" in found["starter"].description
    assert "Remote-first" in found["remote"].description


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(
        NotFoundError, match=r"Distribution 'nope' not found\. Available: remote, starter"
    ):
        distribution_path("nope")
    with pytest.raises(NotFoundError):
        distribution_path("../../etc/passwd")


def test_starter_builds_offline_without_loading_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMA_WORKBENCH_DATA_DIR", str(tmp_path))
    with Stack.from_distribution("starter") as stack:
        assert stack.data_dir == tmp_path
        models = {m.identifier: m for m in stack.models.list()}
        assert set(models) == {
            "transformers/HuggingFaceTB/SmolLM2-135M-Instruct",
            "sentence-transformers/all-MiniLM-L6-v2",
        }
        assert (
            models["sentence-transformers/all-MiniLM-L6-v2"].metadata["embedding_dimension"] == 384
        )
        assert [p.provider_id for p in stack.providers.list()] == [
            "transformers",
            "sentence-transformers",
            "localfs",
            "faiss",
            "sqlite-vec",
            "rag-runtime",
            "model-context-protocol",
            "pii",
            "regex",
            "code-scanner",
            "prompt-guard",
            "toxicity",
            "builtin",
            "localfs",
            "huggingface",
            "basic",
            "llm-as-judge",
            "braintrust",
            "builtin",
            "huggingface",
            "reference",
            "pypdf",
        ]
        assert {"files", "vector_io", "tool_runtime", "safety", "shields", "batches"} <= {
            a.value for a in stack.apis
        }
        # Offline shields on by default; Llama Guard only with SAFETY_MODEL.
        assert [s.identifier for s in stack.shields.list()] == [
            "blocklist",
            "code-scanner",
            "pii",
            "prompt-injection",
            "toxicity",
        ]


def test_starter_adds_remote_providers_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMA_WORKBENCH_DATA_DIR", str(tmp_path))
    with (
        StubOpenAIServer(models=["served-by-vllm"]) as stub,
        Stack.from_distribution("starter", env={"VLLM_URL": stub.base_url}) as stack,
    ):
        assert "vllm/served-by-vllm" in [m.identifier for m in stack.models.list()]


def test_remote_distribution_with_no_server_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMA_WORKBENCH_DATA_DIR", str(tmp_path))
    unreachable = {"VLLM_URL": "http://127.0.0.1:9/v1"}
    with Stack.from_distribution("remote", env=unreachable) as stack:
        assert stack.models.list() == []  # the server is down: an empty list, not an error
        assert [p.provider_type for p in stack.providers.list()] == [
            "remote::vllm",
            "inline::builtin",
        ]


def test_starter_adds_llama_guard_when_a_guard_model_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.guard_server import GUARD_MODEL, GuardServer

    monkeypatch.setenv("LLAMA_WORKBENCH_DATA_DIR", str(tmp_path))
    with GuardServer() as guard:
        env = {"VLLM_URL": guard.base_url, "SAFETY_MODEL": f"vllm/{GUARD_MODEL}"}
        with Stack.from_distribution("starter", env=env) as stack:
            shield = stack.shields.retrieve("llama-guard")
            assert shield.provider_resource_id == f"vllm/{GUARD_MODEL}"
            unsafe = stack.safety.run_shield(
                shield_id="llama-guard",
                messages=[{"role": "user", "content": "Where can I buy an untraceable weapon?"}],
            )
            assert unsafe.violation is not None
            assert unsafe.violation.metadata["violation_type"] == "S1"
