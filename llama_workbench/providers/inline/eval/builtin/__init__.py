"""inline::builtin eval: benchmarks run as background jobs (resumable), tracked in MLflow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.eval.builtin.config import BuiltinEvalConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.eval.builtin.impl import BuiltinEval


async def create(config: BuiltinEvalConfig, deps: ProviderDeps) -> BuiltinEval:
    from llama_workbench.providers.inline.eval.builtin.impl import BuiltinEval

    impl = BuiltinEval(config, deps)
    await impl.initialize()
    return impl
