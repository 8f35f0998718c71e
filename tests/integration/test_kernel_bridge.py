"""The sync bridge inside a real IPython kernel, whose event loop is running while cells execute."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from tests.support.stub_server import StubOpenAIServer, stub_stack_config


@pytest.fixture(scope="module")
def kernel() -> Iterator[object]:
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def execute(client: object, code: str) -> tuple[str, list[str]]:
    """Run a cell; return its stdout and any error names."""
    msg_id = client.execute(code)  # type: ignore[attr-defined]
    out, errors = [], []
    while True:
        msg = client.get_iopub_msg(timeout=120)  # type: ignore[attr-defined]
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            errors.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out), errors


def test_sync_and_async_calls_in_a_running_kernel(kernel: object, tmp_path: Path) -> None:
    with StubOpenAIServer(models=["m1", "m2"]) as stub:
        config = stub_stack_config(stub.base_url, tmp_path)
        out, errors = execute(
            kernel,
            f"""
import asyncio, json
from llama_workbench import Stack
stack = Stack.from_config(json.loads({json.dumps(json.dumps(config))}))
assert asyncio.get_running_loop() is not None  # the kernel's loop is running in this cell
print("sync", [m.identifier for m in stack.models.list()])
print("stream", "".join(c.choices[0].delta.content or "" for c in stack.inference.chat_completion(
    model="m1", messages=[{{"role": "user", "content": "x y"}}], stream=True)))
""",
        )
        assert errors == []
        assert "sync ['s/m1', 's/m2']" in out and "stream echo: x y" in out
        out, errors = execute(
            kernel,
            """
models = await stack.aio.models.list()
stream = await stack.aio.inference.chat_completion(model="m2", messages=[{"role": "user", "content": "z"}], stream=True)
print("async", [m.identifier for m in models], "".join([c.choices[0].delta.content or "" async for c in stream]))
stack.close()
""",
        )
        assert errors == []
        assert "async ['s/m1', 's/m2'] echo: z" in out
