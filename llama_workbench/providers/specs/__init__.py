"""The providers this package ships, one module per area; the registry adds entry-point ones."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderSpec


def builtin_specs() -> list[ProviderSpec]:
    """Every built-in ProviderSpec, in the order `stack list-providers` shows them."""
    from llama_workbench.providers.specs.inference import (
        inline_inference_specs,
        remote_inference_specs,
    )
    from llama_workbench.providers.specs.jobs import job_specs
    from llama_workbench.providers.specs.rag import rag_specs
    from llama_workbench.providers.specs.safety import safety_specs
    from llama_workbench.providers.specs.tools import mcp_specs, search_specs

    return [
        *inline_inference_specs(),
        *rag_specs(),
        *mcp_specs(),
        *job_specs(),
        *safety_specs(),
        *remote_inference_specs(),
        *search_specs(),
    ]
