"""`%llama trace` (jupyter/trace_command.trace): span trees of the last traces, metrics, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from llama_workbench import NotFoundError, Stack
from llama_workbench.jupyter.magics import LlamaMagics
from llama_workbench.jupyter.parsing import HelpShown
from llama_workbench.jupyter.session import NotebookSession
from llama_workbench.jupyter.trace_command import trace
from tests.support.stub_server import StubOpenAIServer, stub_stack_config

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def server() -> Iterator[StubOpenAIServer]:
    with StubOpenAIServer(models=["stub-model", "other"]) as s:
        yield s


@pytest.fixture(scope="module")
def magic(
    tmp_path_factory: pytest.TempPathFactory, server: StubOpenAIServer
) -> Iterator[LlamaMagics]:
    config = stub_stack_config(
        server.base_url, tmp_path_factory.mktemp("trace"), telemetry={"enabled": True}
    )
    with Stack.from_config(config) as stack:
        stack.inference.chat_completion(model="stub-model", messages=HI)
        stack.inference.chat_completion(model="other", messages=HI)
        with pytest.raises(NotFoundError):
            stack.inference.chat_completion(model="gone", messages=HI)
        yield LlamaMagics(None, NotebookSession(_stack=stack))


def test_the_last_traces_as_a_table(magic: LlamaMagics) -> None:
    table = trace(magic, "", None)
    assert table.title == "Traces (last 3 traces, newest first)"
    assert table.headers == ["trace", "span", "ms", "status", "model", "provider", "tokens in/out"]
    names = [row[1] for row in table.rows]
    assert names == ["inference.chat_completion"] * 3
    newest, _, oldest = table.rows
    assert newest[3] == "error (NotFoundError)" and newest[4] == "gone"
    assert oldest[3] == "ok" and oldest[5] == "s" and oldest[6] == "3/2"
    assert len(newest[0]) == 32 and float(oldest[2]) > 0
    assert "inference.chat_completion" in repr(table) and "<table>" in table._repr_html_()


def test_filters_one_trace_and_metrics(magic: LlamaMagics) -> None:
    only = trace(magic, "--where model_id=other -n 5", None)
    assert [row[4] for row in only.rows] == ["other"]
    one = trace(magic, only.rows[0][0], None)
    assert one.rows == only.rows and one.title.startswith(f"Traces (trace {only.rows[0][0]}")
    frame = trace(magic, "--metrics", None)
    assert int(frame["requests"].sum()) == 3 and int(frame["errors"].sum()) == 1


def test_bad_arguments_are_one_line(magic: LlamaMagics) -> None:
    with pytest.raises(UsageError, match="--where takes KEY=VALUE"):
        trace(magic, "--where nothing", None)
    with pytest.raises(UsageError, match="--depth is 0 or more"):
        trace(magic, "--depth -1", None)
    with pytest.raises(HelpShown):
        trace(magic, "--help", None)


def test_a_stack_without_telemetry_says_how_to_turn_it_on(
    tmp_path: Path, server: StubOpenAIServer
) -> None:
    with Stack.from_config(stub_stack_config(server.base_url, tmp_path)) as stack:
        magic = LlamaMagics(None, NotebookSession(_stack=stack))
        with pytest.raises(
            UsageError, match=r"add `telemetry: \{enabled: true\}` to its run config"
        ):
            trace(magic, "", None)
