"""inline::huggingface post-training: LoRA / full SFT and DPO on the CPU, served at once, in MLflow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.post_training.huggingface.config import (
    HuggingfacePostTrainingConfig,
)

if TYPE_CHECKING:
    from llama_workbench.providers.inline.post_training.huggingface.impl import (
        HuggingfacePostTraining,
    )


async def create(
    config: HuggingfacePostTrainingConfig, deps: ProviderDeps
) -> HuggingfacePostTraining:
    """Build the provider; torch, peft and MLflow load when a job first trains."""
    from llama_workbench.providers.inline.post_training.huggingface.impl import (
        HuggingfacePostTraining,
    )

    return HuggingfacePostTraining(config, deps)
