"""Token-aware chunking: time to cut a tokenised document into windows, against tokenising it.

Baseline in the same run: the bundled MiniLM tokenizer's own pass over the same text (what
ingest does right before chunking). Chunking must stay linear and a small share of that pass:
the ratio is chunking time / tokenizing time, at 100 kB and at 1 MB (a quadratic window search
shows up as a ratio that grows tenfold between the two).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from llama_workbench.providers.utils.chunking import chunk_document, hf_token_spans  # noqa: E402
from llama_workbench.providers.utils.documents import ExtractedDocument  # noqa: E402
from tests.support.rag import random_text  # noqa: E402


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The fastest of `runs` calls, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    from transformers import AutoTokenizer

    from llama_workbench.providers.inline.inference.sentence_transformers.impl import (
        default_model_path,
    )

    spans = hf_token_spans(AutoTokenizer.from_pretrained(str(default_model_path())))
    print(f"{'size':>8} {'tokens':>8} {'chunks':>7} {'tokenize s':>11} {'chunk s':>8} {'ratio':>6}")
    ratios = {}
    for size in (100_000, 1_000_000):
        doc = ExtractedDocument(random_text(size, seed=1))
        tokens = spans(doc.text)
        tokenized = partial(spans, doc.text)
        chunked = partial(chunk_document, doc, lambda _text, t=tokens: t, 512, 64)
        chunks = chunked()
        tokenize_s, chunk_s = best_of(3, tokenized), best_of(3, chunked)
        ratios[size] = chunk_s / tokenize_s
        print(
            f"{size:>8} {len(tokens):>8} {len(chunks):>7} {tokenize_s:>11.3f} {chunk_s:>8.3f} "
            f"{ratios[size]:>6.2f}"
        )
    growth = ratios[1_000_000] / ratios[100_000]
    print(f"chunking / tokenizing at 1 MB: {ratios[1_000_000]:.2f}x (target <= 0.5x)")
    print(f"ratio growth 100 kB -> 1 MB: {growth:.2f}x (linear ~1x; quadratic would be ~10x)")


if __name__ == "__main__":
    main()
