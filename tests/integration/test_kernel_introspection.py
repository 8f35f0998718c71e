"""What a notebook shows for a stack's API methods: a real IPython kernel's completions and
inspection (Tab after `(`, Shift+Tab / `?`) list the real parameters and the API's docstring."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

from llama_workbench.apis.inference.api import Inference
from llama_workbench.apis.vector_io.api import VectorIO

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def stack_kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("home")
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        reply = client.execute_interactive(
            "import os\n"
            f"os.environ['LLAMA_WORKBENCH_HOME'] = {str(home)!r}\n"
            "from llama_workbench import Stack\n"
            "stack = Stack.from_distribution('starter')\n",
            timeout=120,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        yield client
        client.execute_interactive("stack.close()", timeout=60)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _reply(client: Any, msg_id: str) -> dict[str, Any]:
    while True:
        msg = client.get_shell_msg(timeout=60)
        if msg["parent_header"].get("msg_id") == msg_id:
            content: dict[str, Any] = msg["content"]
            return content


def completions(client: Any, code: str) -> set[str]:
    content = _reply(client, client.complete(code, len(code)))
    assert content["status"] == "ok"
    return set(content["matches"])


def inspection(client: Any, code: str) -> str:
    content = _reply(client, client.inspect(code, len(code), detail_level=0))
    assert content["status"] == "ok" and content["found"], content
    return ANSI.sub("", content["data"]["text/plain"])


@pytest.mark.parametrize(
    ("code", "protocol_method", "names"),
    [
        (
            "stack.inference.chat_completion(",
            Inference.chat_completion,
            {"model=", "messages=", "stream=", "temperature=", "max_tokens=", "tools="},
        ),
        (
            "stack.vector_io.search_vector_store(",
            VectorIO.search_vector_store,
            {"vector_store_id=", "query=", "filters=", "max_num_results=", "search_mode="},
        ),
        (
            "stack.aio.inference.chat_completion(",
            Inference.chat_completion,
            {"model=", "messages=", "stream="},
        ),
    ],
)
def test_parameters_complete_and_inspection_shows_signature_and_doc(
    stack_kernel: Any, code: str, protocol_method: Any, names: set[str]
) -> None:
    assert names <= completions(stack_kernel, code)
    shown = inspection(stack_kernel, code)
    first_line = inspect.getdoc(protocol_method).splitlines()[0]  # type: ignore[union-attr]
    assert first_line in " ".join(shown.split())  # the API's own docstring
    for name in names:
        assert f"{name.rstrip('=')}:" in shown  # typed parameters in the signature
    assert "**kwargs" not in shown and "*args" not in shown


def test_keyword_completion_narrows_and_apis_complete(stack_kernel: Any) -> None:
    offered = completions(stack_kernel, "stack.inference.chat_completion(mo")
    assert {m for m in offered if m.endswith("=")} == {"model="}
    assert "vector_io" in completions(stack_kernel, "stack.vec")
    # Only the APIs this stack serves are offered (telemetry is off in the starter stack).
    assert "telemetry" not in completions(stack_kernel, "stack.tel")
