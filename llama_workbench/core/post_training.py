"""The Post Training API: one provider per stack, which the API calls directly (no routing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import ConfigError

if TYPE_CHECKING:
    from llama_workbench.core.build_context import BuildContext


async def build_post_training(ctx: BuildContext) -> dict[Api, Any]:
    """{Api.post_training: the provider}; jobs are keyed by uuid alone, so one provider owns them."""
    if len(ctx.providers) != 1:
        raise ConfigError(
            "providers.post_training: one post-training provider per stack "
            f"(have {', '.join(ctx.providers) or 'none'})."
        )
    return {Api.post_training: next(iter(ctx.providers.values()))}
