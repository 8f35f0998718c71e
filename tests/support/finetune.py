"""What the fine-tuning tests share: a stack with the inline model, DatasetIO and post-training,
and the dequantized SmolLM2 kept between sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "finetune"
BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"


def models_cache(request: pytest.FixtureRequest, fallback: Path) -> Path:
    """The dequantized GGUF, in pytest's cache so every test module and session shares it
    (dequantizing takes ~20 s; the cache is written atomically, once)."""
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("llama-workbench-models") if cache else fallback


def finetune_config(
    data_dir: Path, models: Path, post_training: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A run config: inline::transformers, inline::localfs DatasetIO, inline::huggingface."""
    return {
        "data_dir": str(data_dir),
        "apis": ["inference", "datasetio", "post_training"],
        "providers": {
            "inference": [
                {
                    "provider_id": "transformers",
                    "provider_type": "inline::transformers",
                    # The exact path that fine-tuning trains on: chats with the base and the
                    # tuned model skip CTranslate2's conversions (~30 s each, tested elsewhere).
                    "config": {"cache_dir": str(models), "engine": "transformers"},
                }
            ],
            "datasetio": [{"provider_id": "localfs", "provider_type": "inline::localfs"}],
            "post_training": [
                {
                    "provider_id": "huggingface",
                    "provider_type": "inline::huggingface",
                    "config": post_training or {},
                }
            ],
        },
    }
