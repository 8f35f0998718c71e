"""remote::nvidia: NVIDIA's hosted API or a NIM (OpenAI-compatible, with NVIDIA's ranking API)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.nvidia.config import NVIDIAConfig
from llama_workbench.providers.remote.inference.nvidia.impl import NVIDIAAdapter


async def create(config: NVIDIAConfig, deps: ProviderDeps) -> NVIDIAAdapter:
    """The shared OpenAI-compatible adapter, pointed at NVIDIA (rerank in NVIDIA's shape)."""
    return NVIDIAAdapter(deps.provider_id, config)
