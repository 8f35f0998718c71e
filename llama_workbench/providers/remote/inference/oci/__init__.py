"""remote::oci: OCI Generative AI's OpenAI-compatible endpoint, with OCI request signatures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.utils.installed import require_installed

if TYPE_CHECKING:
    from llama_workbench.providers.remote.inference.oci.config import OCIConfig
    from llama_workbench.providers.remote.inference.oci.impl import OCIAdapter


async def create(config: OCIConfig, deps: ProviderDeps) -> OCIAdapter:
    """The shared OpenAI-compatible adapter, each request signed by the `oci` package."""
    require_installed("oci", "oci", needed_by="remote::oci")
    from llama_workbench.providers.remote.inference.oci.impl import OCIAdapter

    return OCIAdapter(deps.provider_id, config)
