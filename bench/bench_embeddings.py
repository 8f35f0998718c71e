"""Embeddings: our inline::sentence-transformers (dtype auto) beside raw float32 sentence-transformers.

Both encode the same texts (every paragraph of tests/data/rag, repeated to ~1,000) with
all-MiniLM-L6-v2, in the same run, best of ROUNDS; also bfloat16 forced, and the smallest cosine
of each setting's vectors to the raw float32 ones. `dtype: auto` picks bfloat16 on CPUs with
native bf16: it must keep cosine >= 0.9999 and be faster. Goal: ours >= 1.5x raw on such a CPU.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import numpy as np
from _common import HERE  # type: ignore[import-not-found]

from llama_workbench.apis.inference.models import EmbeddingsRequest
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.inference.sentence_transformers import (
    SentenceTransformersConfig,
    create,
)
from llama_workbench.providers.inline.inference.sentence_transformers.impl import (
    default_model_path,
    resolved_dtype,
)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TEXTS = int(os.environ.get("BENCH_EMBED_TEXTS", "1000"))
MODEL = "all-MiniLM-L6-v2"


def texts() -> list[str]:
    corpus = HERE.parent / "tests" / "data" / "rag"
    paragraphs = [
        p.strip()
        for path in sorted(corpus.glob("*.md")) + sorted(corpus.glob("*.txt"))
        for p in path.read_text().split("\n\n")
        if p.strip()
    ]
    return (paragraphs * (TEXTS // len(paragraphs) + 1))[:TEXTS]


def best(run: Any) -> tuple[float, Any]:
    out = None
    seconds = float("inf")
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        out = run()
        seconds = min(seconds, time.perf_counter() - t0)
    return seconds, out


def ours(dtype: str, batch: list[str]) -> tuple[float, np.ndarray]:
    config = SentenceTransformersConfig(dtype=dtype)  # type: ignore[arg-type]
    deps = ProviderDeps("st", {}, None, HERE)  # type: ignore[arg-type]
    impl = asyncio.run(create(config, deps))
    request = EmbeddingsRequest(model=MODEL, input=batch)

    def run() -> np.ndarray:
        response = asyncio.run(impl.embeddings(request))
        return np.asarray([d.embedding for d in response.data], dtype=np.float64)

    run()  # load the weights before timing
    return best(run)


def main() -> None:
    from sentence_transformers import SentenceTransformer

    batch = texts()
    raw = SentenceTransformer(str(default_model_path()), device="cpu", local_files_only=True)
    raw.encode(batch[:32])
    raw_s, exact = best(lambda: raw.encode(batch, batch_size=32, normalize_embeddings=True))
    exact = np.asarray(exact, dtype=np.float64)
    print(f"embeddings, {len(batch)} paragraphs, all-MiniLM-L6-v2, best of {ROUNDS}")
    print(f"  {'':34}{'texts/s':>9}{'ratio':>8}{'min cosine':>12}")
    print(f"  {'raw sentence-transformers fp32':34}{len(batch) / raw_s:9.1f}{1.0:7.2f}x{1.0:12.6f}")
    for label, dtype in (("ours, dtype auto", "auto"), ("ours, bfloat16", "bfloat16")):
        seconds, vectors = ours(dtype, batch)
        worst = float(np.min(np.sum(exact * vectors, axis=1)))
        shown = f"{label} ({resolved_dtype(dtype)})"
        print(f"  {shown:34}{len(batch) / seconds:9.1f}{raw_s / seconds:7.2f}x{worst:12.6f}")
    print("  goal: auto >= 1.5x raw where the CPU has native bf16, min cosine >= 0.9999")


if __name__ == "__main__":
    main()
