"""Inline model speed: ours (inline::transformers on its fast engine) beside raw transformers
`generate` and raw CTranslate2 `generate_batch` on the same weights, in the same run.

Each engine runs in a fresh process of its own, one after another (so each peak RSS is its own
and none competes with another for the 2 cores): decode tokens/s (one stream), prefill tokens/s
(a ~600-token prompt, time to the first token), a batch of 8 (aggregate tokens/s) and peak RSS.
The raw engines run at 1 thread and at all cores, and each figure is their better one; ours runs
with its defaults.
Goals: ours >= 0.95x raw CTranslate2 and >= 2.5x raw transformers at batch 1, >= 1.5x at batch 8.
llama.cpp on the same GGUF is beside them when llama-cpp-python is installed.

`--quality` instead answers tests/data/inline_quality.jsonl with both engines for a few
repetition settings (how the provider's defaults were chosen): right answers, loops, seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKENS = int(os.environ.get("BENCH_TOKENS", "64"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
CORES = os.cpu_count() or 2
THREADS = CORES  # what a raw worker uses: set per worker process by --threads
PROMPTS = [
    f"Write a short story about a {w}."
    for w in ("cat", "dog", "ship", "tree", "robot", "river", "king", "cloud")
]
LONG = "Summarize this text.\n\n" + " ".join(
    f"The {w} walked along the river and thought about the day." for w in PROMPTS * 6
)
SETTINGS = [(1.0, 0), (1.1, 0), (1.2, 0), (1.0, 4), (1.1, 4)]  # repetition_penalty, no-repeat n


def provider(cache: Path, **config: Any) -> Any:
    from llama_workbench.core.datatypes import ProviderDeps
    from llama_workbench.providers.inline.inference.transformers import (
        TransformersInferenceConfig,
        create,
    )

    deps = ProviderDeps(provider_id="inline", apis={}, storage=None, data_dir=cache.parent)  # type: ignore[arg-type]
    settings = TransformersInferenceConfig.model_validate({"cache_dir": str(cache), **config})
    return asyncio.run(create(settings, deps))


def timed(run: Any, *args: Any) -> tuple[float, int]:
    t0 = time.perf_counter()
    tokens = run(*args)
    return time.perf_counter() - t0, tokens


def measure(run: Any, tokenizer: Any) -> dict[str, float]:
    """run(prompts, max_tokens) -> new tokens; warmed up first, best of 2 for the short ones."""
    run(PROMPTS[:1], 4)
    one = min(timed(run, PROMPTS[:1], TOKENS) for _ in range(2))
    first = min(timed(run, [LONG], 1) for _ in range(2))
    eight = timed(run, PROMPTS, TOKENS)
    return {
        "decode": one[1] / one[0],
        "prefill": len(chat_ids(tokenizer, LONG)) / first[0],
        "batch8": eight[1] / eight[0],
        "rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it does not carry over the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chat_ids(tok: Any, prompt: str) -> list[int]:
    text = tok.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    return list(tok(text, add_special_tokens=False)["input_ids"])


def worker_ours(cache: Path) -> dict[str, float]:
    from llama_workbench.apis.inference.models import ChatCompletionRequest

    impl = provider(cache, engine="ctranslate2", max_batch_size=8)  # its default threads
    tokenizer = impl.engine(MODEL).ensure_loaded().tokenizer

    async def batch(prompts: list[str], limit: int) -> int:
        async def one(prompt: str) -> int:
            request = ChatCompletionRequest(
                model=MODEL,
                temperature=0,
                max_tokens=limit,
                messages=[{"role": "user", "content": prompt}],
                # A story's length: the loop guard must not cut ours shorter than the raw runs.
                repetition_penalty=1.0,
            )
            reply = await impl.chat_completion(request)
            return int(reply.usage.completion_tokens)

        return sum(await asyncio.gather(*(one(p) for p in prompts)))

    return measure(lambda prompts, limit: asyncio.run(batch(prompts, limit)), tokenizer)


def worker_ct2(cache: Path) -> dict[str, float]:
    import ctranslate2
    from transformers import AutoTokenizer

    from llama_workbench.providers.inline.inference.transformers import ct2
    from llama_workbench.providers.inline.inference.transformers.loader import default_gguf_path

    target = ct2.conversion_dir(default_gguf_path(), cache, "int8")
    tok = AutoTokenizer.from_pretrained(str(target / "tokenizer"))
    gen = ctranslate2.Generator(str(target), compute_type="int8", intra_threads=THREADS)

    def run(prompts: list[str], limit: int) -> int:
        starts = [tok.convert_ids_to_tokens(chat_ids(tok, p)) for p in prompts]
        out = gen.generate_batch(
            starts, max_length=limit, min_length=limit, include_prompt_in_result=False
        )
        return sum(len(r.sequences_ids[0]) for r in out)

    return measure(run, tok)


def worker_hf(cache: Path) -> dict[str, float]:
    import torch

    from llama_workbench.providers.inline.inference.transformers.loader import (
        default_gguf_path,
        load_model,
    )

    lm = load_model(default_gguf_path(), None, "float32", THREADS, cache)
    tok = lm.tokenizer

    def run(prompts: list[str], limit: int) -> int:
        ids = [chat_ids(tok, p) for p in prompts]
        width = max(len(i) for i in ids)
        batch = torch.tensor([[lm.pad_id] * (width - len(i)) + i for i in ids])
        mask = torch.tensor([[0] * (width - len(i)) + [1] * len(i) for i in ids])
        with torch.inference_mode():
            out = lm.model.generate(
                input_ids=batch,
                attention_mask=mask,
                max_new_tokens=limit,
                min_new_tokens=limit,
                do_sample=False,
                pad_token_id=lm.pad_id,
            )
        return int((out.shape[1] - width) * len(prompts))

    return measure(run, tok)


WORKERS = {"ours": worker_ours, "ct2": worker_ct2, "hf": worker_hf}


def run_worker(name: str, cache: Path, threads: int = CORES) -> dict[str, float]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            *("--worker", name, "--cache", str(cache), "--threads", str(threads)),
        ],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def llama_cpp() -> float | None:
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    from llama_workbench.providers.inline.inference.transformers.loader import default_gguf_path

    llm = Llama(model_path=str(default_gguf_path()), n_threads=CORES, verbose=False)
    t0 = time.perf_counter()
    out = llm.create_chat_completion(
        [{"role": "user", "content": PROMPTS[0]}], max_tokens=TOKENS, temperature=0
    )
    return out["usage"]["completion_tokens"] / (time.perf_counter() - t0)


def speed(cache: Path) -> None:
    t0 = time.perf_counter()
    impl = provider(cache)  # dequantize the GGUF and convert it, once (cold start)
    impl.engine(MODEL).ensure_loaded()
    asyncio.run(impl.shutdown())
    print(f"cold start (GGUF dequantize + int8 conversion, once): {time.perf_counter() - t0:.1f} s")
    # Rounds interleave the engines, so that load from other processes hits them alike; each
    # figure is the engine's best round (peak RSS: its highest).
    by_threads: dict[tuple[str, int], dict[str, float]] = {}  # each run's best round
    runs = [("hf", 1), ("hf", CORES), ("ct2", 1), ("ct2", CORES), ("ours", CORES)]
    for _ in range(ROUNDS):
        for name, threads in dict.fromkeys(runs):
            seen = by_threads.setdefault((name, threads), {})
            for key, value in run_worker(name, cache, threads).items():
                seen[key] = max(seen.get(key, 0.0), value)
    r: dict[str, dict[str, float]] = {}  # each engine's better thread count, per figure
    for (name, _), seen in by_threads.items():
        best = r.setdefault(name, {})
        for key, value in seen.items():
            best[key] = max(best.get(key, 0.0), value)
    print(
        f"SmolLM2-135M, greedy, {TOKENS} new tokens, best of {ROUNDS} interleaved rounds, each "
        f"engine in a fresh process; raw engines at 1 and {CORES} threads, the better per figure"
    )
    for (name, threads), got in by_threads.items():
        if name != "ours":
            label = {"hf": "transformers", "ct2": "CTranslate2"}[name]
            print(
                f"  raw {label} at {threads} thread(s): decode {got['decode']:.1f}, prefill "
                f"{got['prefill']:.1f}, batch of 8 {got['batch8']:.1f} tokens/s"
            )
    print(
        f"{'':22}{'transformers fp32':>18}{'CTranslate2 int8':>18}{'ours':>10}"
        f"{'ours/ct2':>10}{'ours/tf':>9}"
    )
    for key, label in (
        ("decode", "decode tokens/s"),
        ("prefill", "prefill tokens/s"),
        ("batch8", "batch of 8 tokens/s"),
        ("rss_mb", "peak RSS MB"),
    ):
        hf, c2, ours = r["hf"][key], r["ct2"][key], r["ours"][key]
        print(f"{label:22}{hf:18.1f}{c2:18.1f}{ours:10.1f}{ours / c2:9.2f}x{ours / hf:8.2f}x")
    print("goals: ours >= 0.95x CTranslate2 and >= 2.5x transformers (decode), >= 1.5x (batch 8)")
    cpp = llama_cpp()
    if cpp is None:
        print("llama.cpp: not installed (pip install llama-cpp-python builds it, ~12 min here)")
    else:
        print(
            f"llama.cpp, same GGUF, decode: {cpp:.1f} tokens/s ({cpp / r['ours']['decode']:.2f}x ours)"
        )


def quality(
    cache: Path, engines: list[str], max_tokens: int, settings: list[tuple[float, int]]
) -> None:
    from tests.support.quality import answer_all, prompt_set, score

    rows = prompt_set()
    print(f"{len(rows)} prompts, temperature 0, max_tokens {max_tokens}")
    for engine in engines:
        for penalty, ngram in settings:
            impl = provider(
                cache, engine=engine, repetition_penalty=penalty, no_repeat_ngram_size=ngram
            )
            t0 = time.perf_counter()
            right, looping, _ = score(rows, asyncio.run(answer_all(impl, rows, max_tokens)))
            asyncio.run(impl.shutdown())
            print(
                f"{engine:13} repetition_penalty {penalty:.2f} no_repeat_ngram_size {ngram}: "
                f"{right}/{len(rows)} right, {looping} looping, {time.perf_counter() - t0:.1f} s",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=sorted(WORKERS))
    parser.add_argument("--cache", type=Path, help="model cache dir (default: a temporary one)")
    parser.add_argument("--threads", type=int, default=CORES, help="a raw worker's threads")
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--engines", default="ctranslate2,transformers")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument(
        "--settings",
        default=" ".join(f"{p},{n}" for p, n in SETTINGS),
        help="repetition_penalty,no_repeat_ngram_size pairs, space-separated",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.worker:
        global THREADS
        THREADS = args.threads
        print(json.dumps(WORKERS[args.worker](args.cache)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp) / "models"
        if args.quality:
            pairs = [pair.split(",") for pair in args.settings.split()]
            settings = [(float(p), int(n)) for p, n in pairs]
            quality(cache, args.engines.split(","), args.max_tokens, settings)
        else:
            speed(cache)


if __name__ == "__main__":
    main()
