"""The openai SDK in-process (`stack.openai()`): in a real IPython kernel with no socket bound,
the same answers and the same error classes as over HTTP, streams that stream."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from jupyter_client.manager import start_new_kernel

from llama_workbench import MissingDependencyError, Stack
from llama_workbench.server.runner import start_server
from tests.support.library_client_env import library_client_env
from tests.support.scripted_llm import ScriptedModelServer, Turn
from tests.support.stub_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def stack_config(base_url: str, data_dir: Path) -> dict[str, Any]:
    """Chat "m" and 8-d embeddings "e" from the scripted server; files, vector stores,
    responses and conversations in-process."""
    inference = {
        "provider_id": "s",
        "provider_type": "remote::vllm",
        "config": {"base_url": base_url, "embedding_models": {"e": 8}, "max_retries": 0},
    }
    return {
        "data_dir": str(data_dir),
        "apis": ["inference", "files", "vector_io", "tool_runtime", "responses", "conversations"],
        "providers": {
            "inference": [inference],
            "files": [{"provider_id": "fs", "provider_type": "inline::localfs", "config": {}}],
            "vector_io": [{"provider_id": "faiss", "provider_type": "inline::faiss", "config": {}}],
            "tool_runtime": [{"provider_id": "rag", "provider_type": "inline::rag-runtime"}],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
        "vector_stores": {"default_embedding_model": {"provider_id": "s", "model_id": "e"}},
    }


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(models=["m"], embedding_models=["e"]) as server:
        yield server


@pytest.fixture(scope="module")
def stack(llm: ScriptedModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack.from_config(stack_config(llm.base_url, tmp_path_factory.mktemp("inproc"))) as s:
        yield s


# -- in a real kernel: every API family of the brief through stack.openai(), no socket bound

SOCKET_WATCH = """
import json, socket, psutil
def listening():
    return sorted(
        f"{c.laddr}" for c in psutil.Process().net_connections(kind="all")
        if c.status == psutil.CONN_LISTEN
    )
binds = []
_bind = socket.socket.bind
def recording_bind(self, address):
    binds.append(repr(address))
    return _bind(self, address)
socket.socket.bind = recording_bind
before = listening()
"""

SDK_CELL = """
import io
from llama_workbench import Stack
stack = Stack.from_config(json.loads({config!r}))
client = stack.openai()
out = {{}}
user = lambda text: [{{"role": "user", "content": text}}]
out["chat"] = client.chat.completions.create(model="s/m", messages=user("hello")).choices[0].message.content
out["chat_stream"] = [c.choices[0].delta.content for c in client.chat.completions.create(
    model="s/m", messages=user("one two"), stream=True) if c.choices]
out["completion"] = client.completions.create(model="s/m", prompt="Say").choices[0].text
out["embeddings"] = [len(d.embedding) for d in client.embeddings.create(model="s/e", input=["a b", "c"]).data]
doc = b"The capital of France is Paris. A frostline is the depth where ground water freezes."
f = client.files.create(file=("notes.txt", io.BytesIO(doc), "text/plain"), purpose="assistants")
out["file"] = [client.files.retrieve(f.id).filename, client.files.content(f.id).read() == doc]
vs = client.vector_stores.create(name="notes", file_ids=[f.id])
out["vector_store_files"] = [x.status for x in client.vector_stores.files.list(vs.id)]
out["search"] = [h.content[0].text for h in client.vector_stores.search(vs.id, query="capital of France").data]
out["response"] = client.responses.create(model="s/m", input="hi there").output_text
events = list(client.responses.create(model="s/m", input="streamed words", stream=True))
out["response_stream"] = [e.type for e in events]
out["response_deltas"] = "".join(e.delta for e in events if e.type == "response.output_text.delta")
conv = client.conversations.create(items=[{{"type": "message", "role": "user", "content": "remember"}}])
client.responses.create(model="s/m", input="and now", conversation=conv.id)
out["conversation_items"] = [i.type + ":" + i.role for i in client.conversations.items.list(conv.id, order="asc").data]
try:
    client.chat.completions.create(model="s/nope", messages=user("x"))
except openai.NotFoundError as exc:
    out["not_found"] = exc.status_code
out["binds"], out["new_listening"] = binds, sorted(set(listening()) - set(before))
print("RESULT " + json.dumps(out))
"""

# The control: the same checks see a server that is started (so they can fail).
SERVER_CELL = """
from llama_workbench import start_server
server = start_server(stack, port={port})
seen = {{"binds": binds, "new_listening": sorted(set(listening()) - set(before))}}
server.stop()
stack.close()
print("RESULT " + json.dumps(seen))
"""


def execute(client: Any, code: str) -> tuple[dict[str, Any], list[str]]:
    """Run a cell; return the JSON it printed after RESULT and any errors."""
    msg_id = client.execute(code)
    out, errors = [], []
    while True:
        msg = client.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            errors.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            break
    lines = [line for line in "".join(out).splitlines() if line.startswith("RESULT ")]
    return (json.loads(lines[-1][7:]) if lines else {}), errors


def test_the_openai_sdk_in_a_kernel_with_no_socket_bound(
    llm: ScriptedModelServer, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the kernel runs the checkout under test
    manager, kernel = start_new_kernel(kernel_name="python3", cwd=str(ROOT), env=env)
    try:
        _, errors = execute(kernel, "import openai\n" + SOCKET_WATCH)
        assert errors == []
        config = json.dumps(stack_config(llm.base_url, tmp_path))
        out, errors = execute(kernel, SDK_CELL.format(config=config))
        assert errors == []
        assert out["chat"] == "echo: hello"
        assert "".join(d or "" for d in out["chat_stream"]) == "echo: one two"
        assert len(out["chat_stream"]) > 3  # chunk by chunk
        assert out["completion"] == " echo: Say"
        assert out["embeddings"] == [8, 8]
        assert out["file"] == ["notes.txt", True]
        assert out["vector_store_files"] == ["completed"]
        assert "capital of France is Paris" in out["search"][0]
        assert out["response"] == "echo: hi there"
        assert out["response_stream"][0] == "response.created"
        assert out["response_stream"][-1] == "response.completed"
        assert out["response_deltas"] == "echo: streamed words"
        assert out["conversation_items"] == [
            "message:user",
            "message:user",
            "message:assistant",
        ]
        assert out["not_found"] == 404
        # Nothing was bound and nothing listens that did not before the cell.
        assert out["binds"] == [] and out["new_listening"] == []
        port = free_port()
        seen, errors = execute(kernel, SERVER_CELL.format(port=port))
        assert errors == []
        assert any(str(port) in b for b in seen["binds"])
        assert any(str(port) in s for s in seen["new_listening"])
    finally:
        kernel.stop_channels()
        manager.shutdown_kernel(now=True)


# -- the same errors as over HTTP


def failing_calls(client: openai.OpenAI) -> dict[str, Any]:
    user = [{"role": "user", "content": "x"}]
    return {
        "unknown model": lambda: client.chat.completions.create(model="s/nope", messages=user),
        "bad temperature": lambda: client.chat.completions.create(
            model="s/m", messages=user, temperature=7
        ),
        "unknown file": lambda: client.files.retrieve("file-nope"),
        "unknown vector store": lambda: client.vector_stores.retrieve("vs_nope"),
        "unknown response": lambda: client.responses.retrieve("resp_nope"),
        "unknown conversation": lambda: client.conversations.retrieve("conv_nope"),
        "no such route": lambda: client.get("/nope", cast_to=object),
    }


def caught(call: Any) -> tuple[type[Exception], int, Any]:
    try:
        call()
    except openai.APIStatusError as exc:
        return type(exc), exc.status_code, exc.body
    raise AssertionError("the call did not fail")


def test_the_same_error_classes_as_over_http(stack: Stack) -> None:
    over_http_server = start_server(stack, port=free_port())
    try:
        over_http = openai.OpenAI(
            api_key="unused", base_url=f"{over_http_server.url}/v1", max_retries=0
        )
        in_process = stack.openai(max_retries=0)
        remote, local = failing_calls(over_http), failing_calls(in_process)
        for name in remote:
            assert caught(local[name]) == caught(remote[name]), name
    finally:
        over_http_server.stop()
    assert caught(local["unknown model"])[:2] == (openai.NotFoundError, 404)
    assert caught(local["bad temperature"])[:2] == (openai.BadRequestError, 400)
    # Llama Stack 0.7.3 answers a missing vector store with a 400, and so do we, both ways.
    assert caught(local["unknown vector store"])[:2] == (openai.BadRequestError, 400)


def test_options_go_to_the_sdk_and_its_own_are_refused(stack: Stack) -> None:
    client = stack.openai(max_retries=0, timeout=5.0)
    assert client.max_retries == 0 and client.timeout == 5.0
    assert {m.id for m in client.models.list()} == {"s/m", "s/e"}
    with pytest.raises(TypeError, match="base_url"):
        stack.openai(base_url="http://elsewhere")


def test_no_token_in_process_where_the_server_wants_one(
    llm: ScriptedModelServer, tmp_path: Path
) -> None:
    provider = {"provider_id": "s", "provider_type": "remote::vllm"}
    config = {
        "data_dir": str(tmp_path),
        "apis": ["inference"],
        "providers": {"inference": [{**provider, "config": {"base_url": llm.base_url}}]},
        "server": {"auth": {"tokens": [{"token": "s3cret-token", "principal": "alice"}]}},
    }
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as server:
        # In-process calls run as library mode's local principal, as stack.models.list() does.
        assert {m.id for m in stack.openai().models.list()} == {"s/m", "s/e"}
        over_http = openai.OpenAI(api_key="wrong", base_url=f"{server.url}/v1", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            over_http.models.list()


def test_llama_stack_client_needs_its_extra_here(stack: Stack) -> None:
    try:
        import llama_stack_client  # noqa: F401
    except ImportError:  # Python 3.11: the SDK does not install
        with pytest.raises(MissingDependencyError, match=r"llama-workbench\[clients\]"):
            stack.llama_stack_client()
    else:
        assert {m.id for m in stack.llama_stack_client().models.list()} == {"s/m", "s/e"}


LLAMA_STACK_CLIENT_SCRIPT = """
import asyncio, json, sys, tempfile
import llama_stack_client
from llama_workbench import Stack
config = {"apis": ["inference"], "data_dir": tempfile.mkdtemp(), "providers": {"inference": [
    {"provider_id": "s", "provider_type": "remote::vllm", "config": {"base_url": sys.argv[1]}}]}}
out = {}
with Stack.from_config(config) as stack:
    client = stack.llama_stack_client()
    user = [{"role": "user", "content": "hi"}]
    out["models"] = sorted(m.id for m in client.models.list())
    out["chat"] = client.chat.completions.create(model="s/m", messages=user).choices[0].message.content
    out["stream"] = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="s/m", messages=user, stream=True) if c.choices)
    try:
        client.models.retrieve("s/nope")
    except llama_stack_client.NotFoundError as exc:
        out["not_found"] = exc.status_code
    async def main():
        return (await stack.allama_stack_client().chat.completions.create(
            model="s/m", messages=user)).choices[0].message.content
    out["async"] = asyncio.run(main())
print("RESULT " + json.dumps(out))
"""


def test_llama_stack_client_in_process_on_python_3_12(llm: ScriptedModelServer) -> None:
    python, env = library_client_env()
    done = subprocess.run(
        [str(python), "-c", LLAMA_STACK_CLIENT_SCRIPT, llm.base_url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stderr[-3000:]
    assert json.loads(lines[0][7:]) == {
        "models": ["s/e", "s/m"],
        "chat": "echo: hi",
        "stream": "echo: hi",
        "not_found": 404,
        "async": "echo: hi",
    }


# -- streams stream, and a stream closed early stops the work


def test_streamed_parts_arrive_as_they_are_made(stack: Stack, llm: ScriptedModelServer) -> None:
    client = stack.openai()
    llm.script(Turn(text="one two three four", delay_s=0.25))
    start, arrivals = time.perf_counter(), []
    for chunk in client.chat.completions.create(
        model="s/m", messages=[{"role": "user", "content": "x"}], stream=True
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.perf_counter() - start)
    assert len(arrivals) == 4
    # The model pauses 0.25 s before each word: parts handed over as they are made arrive
    # >= 0.75 s apart from first to last; a buffered answer would arrive all at once.
    assert arrivals[-1] - arrivals[0] > 0.6


def test_a_stream_closed_early_ends_at_once(stack: Stack, llm: ScriptedModelServer) -> None:
    client = stack.openai()
    llm.script(Turn(text="a b c d e f g h", delay_s=0.25))
    stream = client.chat.completions.create(
        model="s/m", messages=[{"role": "user", "content": "x"}], stream=True
    )
    first = next(c for c in stream if c.choices and c.choices[0].delta.content)
    start = time.perf_counter()
    stream.close()
    assert first.choices[0].delta.content == "a"
    assert time.perf_counter() - start < 0.5  # not waiting for the 7 words still to come
    # The stack serves the next request as usual.
    answer = client.chat.completions.create(
        model="s/m", messages=[{"role": "user", "content": "y"}]
    )
    assert answer.choices[0].message.content == "echo: y"


def test_the_async_client_from_another_loop_and_from_the_stacks_own(
    stack: Stack, llm: ScriptedModelServer, tmp_path: Path
) -> None:
    async def chat(client: openai.AsyncOpenAI) -> tuple[str, str]:
        user = [{"role": "user", "content": "async hello"}]
        plain = await client.chat.completions.create(model="s/m", messages=user)
        stream = await client.chat.completions.create(model="s/m", messages=user, stream=True)
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        return plain.choices[0].message.content or "", "".join(parts)

    # A notebook's loop, while the stack lives on its own loop thread.
    assert asyncio.run(chat(stack.aopenai())) == ("echo: async hello",) * 2

    async def on_the_stacks_loop() -> tuple[str, str]:
        # A stack built on the running loop (as a server builds it): no hop at all.
        own = await Stack.create(stack_config(llm.base_url, tmp_path))
        try:
            return await chat(own.aopenai())
        finally:
            await own.aclose()

    assert asyncio.run(on_the_stacks_loop()) == ("echo: async hello",) * 2
