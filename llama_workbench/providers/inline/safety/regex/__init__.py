"""inline::regex: a shield that blocks configured words and regular expressions; no model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.safety.regex.config import RegexShieldConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.safety.regex.impl import RegexShieldImpl


async def create(config: RegexShieldConfig, deps: ProviderDeps) -> RegexShieldImpl:
    from llama_workbench.providers.inline.safety.regex.impl import RegexShieldImpl

    return RegexShieldImpl(config)
