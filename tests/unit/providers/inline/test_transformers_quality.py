"""Quality guard: CTranslate2 int8 answers the fixed prompt set at least as well as fp32 and never
loops (tests/data/inline_quality.jsonl: short factual and instruction prompts with expected
answer substrings, things SmolLM2-135M gets right)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_workbench.providers.inline.inference.transformers import TransformersInferenceImpl
from tests.support.quality import answer_all, prompt_set, score

from .conftest import new_llm

pytest.importorskip("ctranslate2")
pytestmark = pytest.mark.slow

MAX_TOKENS = 32  # the expected words come early; short answers keep the test fast


async def test_ctranslate2_int8_answers_as_well_as_fp32_and_never_loops(
    llm: TransformersInferenceImpl, llm_data_dir: Path
) -> None:
    rows = prompt_set()
    assert len(rows) >= 30
    assert llm.engine_name == "ctranslate2"
    # One by one: CTranslate2's int8 output for a prompt depends on the batch it shares (whose
    # make-up depends on timing), so alone is the reproducible measure. fp32 batches exactly.
    fast = score(rows, await answer_all(llm, rows, MAX_TOKENS, one_by_one=True))
    exact_impl = await new_llm(llm_data_dir, engine="transformers")
    try:
        exact = score(rows, await answer_all(exact_impl, rows, MAX_TOKENS))
    finally:
        await exact_impl.shutdown()
    scores = (
        f"ctranslate2 int8: {fast[0]}/{len(rows)} right, {fast[1]} looping; "
        f"transformers fp32: {exact[0]}/{len(rows)} right, {exact[1]} looping"
    )
    print(scores, *fast[2], "fp32:", *exact[2], sep="\n  ")
    assert fast[0] >= exact[0], scores
    assert fast[1] == 0 and exact[1] == 0, scores
