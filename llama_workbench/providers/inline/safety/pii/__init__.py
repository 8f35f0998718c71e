"""inline::pii: a shield for personal data and secrets (emails, phones, cards, IBANs, keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.safety.pii.config import PIIShieldConfig
from llama_workbench.providers.utils.installed import require_installed

if TYPE_CHECKING:
    from llama_workbench.providers.inline.safety.pii.impl import PIIShieldImpl


async def create(config: PIIShieldConfig, deps: ProviderDeps) -> PIIShieldImpl:
    # Checked now, imported on the first scan.
    require_installed("phonenumbers", "safety", needed_by="inline::pii")
    require_installed("stdnum", "safety", needed_by="inline::pii", package="python-stdnum")
    from llama_workbench.providers.inline.safety.pii.impl import PIIShieldImpl

    return PIIShieldImpl(config)
