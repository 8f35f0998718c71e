"""APIs built on first use: a stack built from sync code leaves the APIs nothing else needs
(scoring, eval, datasets, responses...) unbuilt until a call reaches them; a server's stack
(`Stack.create`) builds everything; config errors still surface at build."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import Stack
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import ConfigError, LlamaWorkbenchError, NotFoundError
from tests.unit.core.conftest import two_provider_config

QA = [{"input_query": "2+2?", "expected_answer": "4", "generated_answer": "4"}]


def _config(stub_a, stub_b, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    config = two_provider_config(stub_a, stub_b, tmp_path, **extra)
    config["apis"] = ["inference", "datasetio", "scoring", "eval"]
    config["providers"] |= {
        "datasetio": [{"provider_id": "localfs", "provider_type": "inline::localfs", "config": {}}],
        "scoring": [{"provider_id": "basic", "provider_type": "inline::basic", "config": {}}],
        "eval": [{"provider_id": "builtin", "provider_type": "inline::builtin", "config": {}}],
    }
    return config


def _pending(stack: Stack) -> set[str]:
    return {a.value for a in stack._build.pending}


def test_sync_stack_builds_scoring_and_eval_on_first_use(stub_a, stub_b, tmp_path: Path) -> None:
    with Stack.from_config(_config(stub_a, stub_b, tmp_path)) as stack:
        lazy = {"datasetio", "datasets", "scoring", "scoring_functions", "eval", "benchmarks"}
        assert _pending(stack) == lazy
        # Served all the same: listed, completed, inspected.
        assert lazy <= {a.value for a in stack.apis}
        assert "scoring" in dir(stack)
        assert not any(k.startswith(("scoring/", "eval/")) for k in stack._instances)
        # First use builds scoring (and nothing it doesn't need).
        ids = [f.identifier for f in stack.scoring_functions.list()]
        assert "basic::equality" in ids
        assert _pending(stack) == {"eval", "benchmarks"}
        assert "scoring/basic" in stack._instances
        result = stack.scoring.score(input_rows=QA, scoring_functions={"basic::equality": None})
        assert result.results["basic::equality"].score_rows == [{"score": 1.0}]
        # The rest on its first use, through the async face on another event loop.
        benchmarks = asyncio.run(stack.aio.benchmarks.list())
        assert benchmarks == [] and _pending(stack) == set()


def test_stack_loop_gets_a_stand_in_whose_first_call_builds(stub_a, stub_b, tmp_path) -> None:
    with Stack.from_config(_config(stub_a, stub_b, tmp_path)) as stack:

        async def on_the_stack_loop() -> list[str]:
            scoring_functions = stack.impl(Api.scoring_functions)  # no blocking here
            assert "built on first use" in repr(scoring_functions)
            return [f.identifier for f in await scoring_functions.list()]

        from llama_workbench.core.bridge import run_sync

        assert "basic::subset_of" in run_sync(on_the_stack_loop(), stack.loop)
        assert "scoring_functions" not in _pending(stack)
        assert "built on first use" not in repr(stack.impl(Api.scoring_functions))


def test_server_stack_builds_everything(stub_a, stub_b, tmp_path: Path) -> None:
    async def build() -> Stack:
        return await Stack.create(_config(stub_a, stub_b, tmp_path))

    async def main() -> None:
        stack = await build()
        try:
            assert _pending(stack) == set()
            assert {"scoring/basic", "eval/builtin", "datasetio/localfs"} <= set(stack._instances)
        finally:
            await stack.aclose()

    asyncio.run(main())


def test_declared_resources_are_checked_at_build(stub_a, stub_b, tmp_path: Path) -> None:
    bad = {"benchmarks": [{"benchmark_id": "b"}]}  # no dataset_id
    with pytest.raises(ConfigError, match=r"registered_resources\.benchmarks\[0\]"):
        Stack.from_config(_config(stub_a, stub_b, tmp_path, registered_resources=bad))


def test_unknown_and_closed(stub_a, stub_b, tmp_path: Path) -> None:
    stack = Stack.from_config(_config(stub_a, stub_b, tmp_path))
    with pytest.raises(NotFoundError, match="API 'post_training' not found"):
        stack.impl("post_training")
    stack.close()
    with pytest.raises(LlamaWorkbenchError, match="This stack is closed"):
        stack.impl("scoring")
