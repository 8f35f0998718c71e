"""Inline model speed: our inline::transformers beside raw transformers `generate` on the same weights.

Decode tokens/s for one stream, aggregate tokens/s for a batch of 8, cold (GGUF dequantize) and
cached load times, and llama.cpp on the same GGUF when llama-cpp-python is installed. Each row
prints its ratio to the raw baseline measured in the same run. Goal: ours >= 0.95x raw.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from llama_workbench.apis.inference.models import ChatCompletionRequest
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.inference.transformers import create
from llama_workbench.providers.inline.inference.transformers.config import (
    TransformersInferenceConfig,
)
from llama_workbench.providers.inline.inference.transformers.loader import default_gguf_path

TOKENS = int(os.environ.get("BENCH_TOKENS", "64"))
PROMPTS = [
    f"Write a short story about a {w}."
    for w in ("cat", "dog", "ship", "tree", "robot", "river", "king", "cloud")
]

COLD = """
import time, tempfile, sys
from pathlib import Path
from llama_workbench.providers.inline.inference.transformers.loader import load_model, default_gguf_path
t0 = time.perf_counter()
load_model(default_gguf_path(), None, "float32", 2, Path(sys.argv[1]))
print(time.perf_counter() - t0)
"""


def load_times(cache: str) -> tuple[float, float]:
    """Cold (dequantize + save cache) and cached loads, each in a fresh process (imports included)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    runs = []
    for _ in range(2):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", COLD, cache], check=True, env=env, capture_output=True
        )
        runs.append(time.perf_counter() - t0)
    return runs[0], runs[1]


def raw_generate(loaded: object, prompts: list[str]) -> float:
    """Aggregate new tokens/s of plain `model.generate` (greedy, left-padded batch)."""
    import torch

    tok, model = loaded.tokenizer, loaded.model  # type: ignore[attr-defined]
    tok.padding_side = "left"
    texts = [
        tok.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in prompts
    ]
    batch = tok(texts, return_tensors="pt", padding=True)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            **batch,
            max_new_tokens=TOKENS,
            min_new_tokens=TOKENS,
            do_sample=False,
            pad_token_id=loaded.pad_id,
        )  # type: ignore[attr-defined]
    new = (out.shape[1] - batch["input_ids"].shape[1]) * len(prompts)
    return new / (time.perf_counter() - t0)


async def ours(impl: object, prompts: list[str]) -> float:
    async def one(prompt: str) -> int:
        request = ChatCompletionRequest(
            model="HuggingFaceTB/SmolLM2-135M-Instruct",
            temperature=0,
            max_tokens=TOKENS,
            messages=[{"role": "user", "content": prompt}],
        )
        reply = await impl.chat_completion(request)  # type: ignore[attr-defined]
        return int(reply.usage.completion_tokens)

    t0 = time.perf_counter()
    tokens = sum(await asyncio.gather(*(one(p) for p in prompts)))
    return tokens / (time.perf_counter() - t0)


def llama_cpp(prompts: list[str]) -> float | None:
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    llm = Llama(model_path=str(default_gguf_path()), n_threads=os.cpu_count() or 2, verbose=False)
    t0, tokens = time.perf_counter(), 0
    for p in prompts:
        out = llm.create_chat_completion(
            [{"role": "user", "content": p}], max_tokens=TOKENS, temperature=0
        )
        tokens += out["usage"]["completion_tokens"]
    return tokens / (time.perf_counter() - t0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cold, cached = load_times(str(Path(tmp) / "cache"))
        print(
            f"load (fresh process, imports included): cold GGUF {cold:.1f} s, cached {cached:.1f} s "
            f"({cold / cached:.1f}x faster)"
        )
        config = TransformersInferenceConfig(cache_dir=str(Path(tmp) / "cache"), max_batch_size=8)
        deps = ProviderDeps(provider_id="transformers", apis={}, storage=None, data_dir=Path(tmp))  # type: ignore[arg-type]
        impl = asyncio.run(create(config, deps))

        async def run() -> dict[str, float]:
            await ours(impl, PROMPTS[:1])  # load + warm-up
            loaded = impl._engines["HuggingFaceTB/SmolLM2-135M-Instruct"].loaded  # type: ignore[attr-defined]
            results = {
                "raw1": raw_generate(loaded, PROMPTS[:1]),
                "ours1": await ours(impl, PROMPTS[:1]),
                "raw8": raw_generate(loaded, PROMPTS),
                "ours8": await ours(impl, PROMPTS),
            }
            await impl.shutdown()  # type: ignore[attr-defined]
            return results

        r = asyncio.run(run())
    print(f"decode, {TOKENS} new tokens, greedy, fp32, {os.cpu_count()} threads (tokens/s)")
    print(
        f"  one stream:  raw generate {r['raw1']:7.1f}   ours {r['ours1']:7.1f}   ratio {r['ours1'] / r['raw1']:.2f}x"
    )
    print(
        f"  batch of 8:  raw generate {r['raw8']:7.1f}   ours {r['ours8']:7.1f}   ratio {r['ours8'] / r['raw8']:.2f}x"
    )
    cpp = llama_cpp(PROMPTS[:2])
    if cpp is None:
        print(
            "  llama.cpp: not installed (pip install llama-cpp-python builds it from source, ~12 min here)"
        )
    else:
        print(
            f"  llama.cpp on the same GGUF, one stream: {cpp:.1f} tokens/s ({cpp / r['ours1']:.1f}x ours)"
        )
    print("  goal: ours >= 0.95x raw generate")


if __name__ == "__main__":
    main()
