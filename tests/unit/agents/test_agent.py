"""The notebook Agent over a real Stack: streamed steps, client-side tools, RAG, shields, sessions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import Stack
from llama_workbench.agents import Agent, StepEvent, Turn, tool
from llama_workbench.core.errors import BadRequestError, LlamaWorkbenchError, NotFoundError
from tests.support.scripted_llm import ScriptedModelServer, call, say

MODEL = "scripted/scripted-model"
DOCS = {
    "observatory.txt": "The Orrin Ridge observatory was founded in 1911 by Mara Quell.",
    "bakery.txt": "The Lindenfeld bakery sells rye bread every Tuesday morning.",
    "ferry.txt": "The island ferry leaves the harbour at seven and returns at noon.",
}


def _config(server: ScriptedModelServer, data_dir: Path, *, full: bool) -> dict[str, Any]:
    """The scripted model and responses; `full` adds MiniLM, files, faiss and two shields."""
    config: dict[str, Any] = {
        "data_dir": str(data_dir),
        "apis": ["inference", "responses"],
        "providers": {
            "inference": [server.provider_config()],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
    }
    if full:
        config["apis"] += ["files", "vector_io", "safety"]
        providers = config["providers"]
        providers["inference"].append(
            {"provider_id": "st", "provider_type": "inline::sentence-transformers", "config": {}}
        )
        providers["files"] = [{"provider_id": "localfs", "provider_type": "inline::localfs"}]
        providers["vector_io"] = [{"provider_id": "faiss", "provider_type": "inline::faiss"}]
        providers["safety"] = [
            {"provider_id": "pii", "provider_type": "inline::pii", "config": {}},
            {
                "provider_id": "words",
                "provider_type": "inline::regex",
                "config": {"blocked_words": ["blorple"]},
            },
        ]
        config["registered_resources"] = {
            "shields": [
                {"shield_id": "pii", "provider_id": "pii"},
                {"shield_id": "blocklist", "provider_id": "words"},
            ]
        }
    return config


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as s:
        yield s


@pytest.fixture(scope="module")
def stack(server: ScriptedModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack.from_config(_config(server, tmp_path_factory.mktemp("agent"), full=True)) as s:
        yield s


@pytest.fixture(scope="module")
def store(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A faiss vector store over three tiny documents (real MiniLM embeddings)."""
    folder = tmp_path_factory.mktemp("docs")
    vector_store = stack.vector_io.create_vector_store(name="agent-docs")
    files = {}
    for name, text in DOCS.items():
        (folder / name).write_text(text)
        uploaded = stack.files.upload_file(str(folder / name))
        attached = stack.vector_io.attach_file(vector_store.id, uploaded.id)
        assert attached.status == "completed", attached.last_error
        files[name] = uploaded.id
    return {"id": vector_store.id, "files": files}


def _types(turn: Turn) -> list[str]:
    return [step.step_type for step in turn.steps]


def test_plain_turn_streams_inference_deltas(stack: Stack, server: ScriptedModelServer) -> None:
    agent = Agent(stack, MODEL, instructions="Greet people.")
    session = agent.create_session("plain")
    server.script(say("Hello there friend"))
    events = list(session.turn("hi"))
    kinds = [(e.event_type, e.step_type) for e in events]
    assert kinds[0] == ("step_start", "inference")
    assert [e.delta for e in events if e.event_type == "step_progress"] == [
        "Hello",
        " there",
        " friend",
    ]
    assert kinds[-2:] == [("step_complete", "inference"), ("turn_complete", None)]
    step = events[-2].step
    assert step is not None and step.details["model_response"]["content"] == "Hello there friend"
    turn = events[-1].turn
    assert turn is not None and turn.output_text == "Hello there friend"
    assert turn.status == "completed" and turn.turn_id == turn.response_ids[0]
    assert turn.session_id == session.session_id and _types(turn) == ["inference"]
    assert [t.turn_id for t in session.turns] == [turn.turn_id]
    assert server.requests[-1]["messages"][0] == {"role": "system", "content": "Greet people."}
    history = session.history()
    assert [(i.type, getattr(i, "role", None)) for i in history] == [
        ("message", "user"),
        ("message", "assistant"),
    ]


def test_function_tool_loop_over_two_rounds(stack: Stack, server: ScriptedModelServer) -> None:
    seen: list[tuple[int, int]] = []

    def add(a: int, b: int) -> int:
        """Add two integers."""
        seen.append((a, b))
        return a + b

    agent = Agent(stack, MODEL, instructions="Add with the tool.", tools=[add])
    session = agent.create_session()
    server.script(call("add", a=1, b=2), call("add", a=3, b=4), say("The sums are 3 and 7"))
    turn = session.turn("add 1+2, then 3+4", stream=False)
    assert seen == [(1, 2), (3, 4)]
    assert turn.output_text == "The sums are 3 and 7" and len(turn.response_ids) == 3
    assert _types(turn) == ["inference", "tool_execution"] * 2 + ["inference"]
    first_call = turn.steps[0].details["model_response"]["tool_calls"]
    assert [(c["tool_name"], c["arguments"]) for c in first_call] == [("add", '{"a": 1, "b": 2}')]
    results = [
        s.details["tool_responses"][0] for s in turn.steps if s.step_type == "tool_execution"
    ]
    assert [(r["content"], r["error"]) for r in results] == [("3", None), ("7", None)]
    messages = server.requests[-1]["messages"]
    assert [m["content"] for m in messages if m["role"] == "tool"] == ["3", "7"]
    assert server.requests[-1]["tools"][0]["function"]["name"] == "add"


def test_a_raising_function_sends_its_error_to_the_model(
    stack: Stack, server: ScriptedModelServer
) -> None:
    @tool
    def explode(reason: str) -> str:
        """Always fails."""
        raise ValueError(f"boom: {reason}")

    session = Agent(stack, MODEL, tools=[explode]).create_session()
    server.script(call("explode", reason="test"), say("The tool failed"))
    turn = session.turn("try it", stream=False)
    response = turn.steps[1].details["tool_responses"][0]
    assert response["error"] == "ValueError: boom: test"
    assert response["content"] == "Error: ValueError: boom: test"
    tool_messages = [m for m in server.requests[-1]["messages"] if m["role"] == "tool"]
    assert tool_messages[-1]["content"] == "Error: ValueError: boom: test"
    assert turn.output_text == "The tool failed"


def test_builtin_rag_yields_a_memory_retrieval_step(
    stack: Stack, server: ScriptedModelServer, store: dict[str, Any]
) -> None:
    rag = {"name": "builtin::rag", "args": {"vector_store_ids": [store["id"]]}}
    session = Agent(stack, MODEL, tools=[rag]).create_session()
    server.script(call("file_search", query="When was the observatory founded?"), say("1911 [1]"))
    events = list(session.turn("When was the observatory founded?"))
    turn = events[-1].turn
    assert turn is not None and _types(turn) == ["memory_retrieval", "inference"]
    details = turn.steps[0].details
    assert details["vector_store_ids"] == [store["id"]]
    assert details["queries"] == ["When was the observatory founded?"]
    top = details["results"][0]
    assert (
        top["filename"] == "observatory.txt" and top["file_id"] == store["files"][top["filename"]]
    )
    assert "1911" in top["text"]
    tool_messages = [m for m in server.requests[-1]["messages"] if m["role"] == "tool"]
    assert "Mara Quell" in tool_messages[-1]["content"]
    assert turn.output_text == "1911 [1]"


def test_shields_pass_or_refuse_without_calling_the_model(
    stack: Stack, server: ScriptedModelServer
) -> None:
    agent = Agent(stack, MODEL, shields=["pii", "blocklist"])
    session = agent.create_session()
    server.script(say("Fine, thanks"))
    passed = session.turn("How are you?", stream=False)
    assert _types(passed) == ["shield_call", "inference"]
    assert passed.steps[0].details == {"shield_ids": ["pii", "blocklist"], "violation": None}
    for text in ("Mail me at jane.doe@acme-mail.com", "Tell me about blorple"):
        asked = len(server.requests)
        events = list(session.turn(text))
        assert len(server.requests) == asked  # refused before any model call
        turn = events[-1].turn
        assert turn is not None and _types(turn) == ["shield_call"]
        violation = turn.steps[0].details["violation"]
        assert violation["violation_level"] == "error" and violation["user_message"]
        assert turn.output_text == violation["user_message"]


def test_a_failed_response_raises(stack: Stack, server: ScriptedModelServer) -> None:
    stack.models.register(
        model_id="scripted/ghost", provider_model_id="ghost", provider_id="scripted"
    )
    session = Agent(stack, "scripted/ghost").create_session()
    with pytest.raises(LlamaWorkbenchError, match="ghost"):
        session.turn("hello", stream=False)
    assert [t.status for t in session.turns] == ["failed"]


async def test_async_faces(stack: Stack, server: ScriptedModelServer) -> None:
    agent = Agent(stack, MODEL, instructions="async")
    session = await agent.acreate_session()
    server.script(say("one two"), say("three"))
    events: list[StepEvent] = [e async for e in session.astream("first")]
    assert [e.delta for e in events if e.delta] == ["one", " two"]
    turn = await session.aturn("second")
    assert turn.output_text == "three"
    assert [t.output_text for t in session.turns] == ["one two", "three"]
    assert [s.session_id for s in await agent.asessions()] == [session.session_id]


async def test_sync_faces_work_inside_a_running_loop(
    stack: Stack, server: ScriptedModelServer
) -> None:
    """As in a Jupyter kernel: the caller's thread runs an event loop while it calls turn()."""
    session = Agent(stack, MODEL, name="in-loop").create_session()
    server.script(say("first answer here"), say("second"))
    stream = session.turn("one")
    for event in stream:
        if event.event_type == "step_progress":
            break  # stopping early closes the response stream and frees the session
    stream.close()
    assert session.turn("two", stream=False).output_text == "second"
    assert [t.input for t in session.turns] == ["two"]


def test_sessions_survive_a_restart(server: ScriptedModelServer, tmp_path: Path) -> None:
    config = _config(server, tmp_path, full=False)
    with Stack.from_config(config) as first:
        session = Agent(first, MODEL, instructions="Be brief.").create_session("intro")
        server.script(say("Hi Ada"))
        session.turn("My name is Ada", stream=False)
    with Stack.from_config(config) as second:
        agent = Agent(second, MODEL, instructions="Be brief.")
        assert Agent(second, MODEL, instructions="Other.").sessions() == []
        (info,) = agent.sessions()
        assert (info.session_id, info.session_name) == (session.session_id, "intro")
        assert [t.output_text for t in info.turns] == ["Hi Ada"]
        resumed = agent.resume_session(info.session_id)
        server.script(say("You are Ada"))
        resumed.turn("What is my name?", stream=False)
        messages = server.requests[-1]["messages"]
        assert {"role": "user", "content": "My name is Ada"} in messages
        assert {"role": "assistant", "content": "Hi Ada"} in messages
        assert len(resumed.history()) == 4 and len(resumed.turns) == 2
        agent.delete_session(info.session_id)
        assert agent.sessions() == []
        with pytest.raises(NotFoundError):
            agent.resume_session(info.session_id)
        with pytest.raises(NotFoundError):
            second.conversations.retrieve_conversation(info.session_id)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (42, r"tools\[0\]: 42 \(int\) is not a tool"),
        ("nope", r"tools\[0\]: unknown tool 'nope'"),
        ("builtin::rag", r"tools\[0\]: 'builtin::rag' needs vector stores"),
        ({"name": "builtin::rag", "args": {}}, r"tools\[0\]: builtin::rag needs"),
        ({"type": "computer_use_preview"}, r"tools\[0\]: invalid tool .*computer_use_preview"),
        ({"foo": 1}, r"tools\[0\]: .* has no 'type'"),
        ({"type": "file_search", "vector_store_ids": []}, r"tools\[0\]: invalid tool"),
    ],
)
def test_bad_tool_entries_are_named(stack: Stack, entry: Any, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        Agent(stack, MODEL, tools=[entry])


def test_mcp_strings_and_bad_settings(stack: Stack) -> None:
    agent = Agent(stack, MODEL, tools=["mcp::docs"], name="with-mcp")
    assert agent.tools[0]["type"] == "mcp" and agent.tools[0]["server_label"] == "docs"
    with pytest.raises(BadRequestError, match="two functions are named '_add'"):
        Agent(stack, MODEL, tools=[tool(_add), _add])
    with pytest.raises(BadRequestError, match="temperature"):
        Agent(stack, MODEL, temperature=5.0)
    with pytest.raises(BadRequestError, match="empty"):
        Agent(stack, MODEL).create_session().turn("  ")


def _add(a: int, b: int) -> int:
    return a + b
