"""inline::pii: a shield for personal data and secrets (emails, phones, cards, IBANs, keys)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.safety.pii.config import PIIShieldConfig


async def create(config: PIIShieldConfig, deps: ProviderDeps) -> object:
    from llama_workbench.providers.inline.safety.pii.impl import PIIShieldImpl

    return PIIShieldImpl(config)
