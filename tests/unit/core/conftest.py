"""Fixtures for the runtime core: stub servers and configs pointing at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.stub_server import StubOpenAIServer


@pytest.fixture(scope="module")
def stub_a() -> Iterator[StubOpenAIServer]:
    with StubOpenAIServer(models=["alpha", "shared"]) as server:
        yield server


@pytest.fixture(scope="module")
def stub_b() -> Iterator[StubOpenAIServer]:
    with StubOpenAIServer(models=["beta", "shared", "embed-b"]) as server:
        yield server


def two_provider_config(
    a: StubOpenAIServer, b: StubOpenAIServer, data_dir: Path, **extra: Any
) -> dict[str, Any]:
    return {
        "version": 2,
        "distro_name": "test",
        "data_dir": str(data_dir),
        "apis": ["inference"],
        "providers": {
            "inference": [
                {
                    "provider_id": "a",
                    "provider_type": "remote::vllm",
                    "config": {"base_url": a.base_url},
                },
                {
                    "provider_id": "b",
                    "provider_type": "remote::openai",
                    "config": {
                        "base_url": b.base_url,
                        "api_key": "sk-secret-b",
                        "embedding_models": {"embed-b": 3},
                    },
                },
            ]
        },
        **extra,
    }
