"""The Responses API and an Agent on the real bundled SmolLM2 (starter): plain answers, kept turns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llama_workbench import Agent, Stack

LLM = "transformers/HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = {"data_dir": str(tmp_path_factory.mktemp("starter"))}
    import yaml

    from llama_workbench.distributions import distribution_path

    raw = yaml.safe_load(Path(distribution_path("starter")).read_text())
    raw.update(config)
    with Stack.from_config(raw) as stack:
        yield stack


def test_streamed_response_from_the_inline_model(starter: Stack) -> None:
    events = list(
        starter.responses.create_response(
            model=LLM,
            input="What is the capital of France?",
            max_output_tokens=16,
            temperature=0,
            stream=True,
        )
    )
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")  # type: ignore[attr-defined]
    final = events[-1]
    assert final.type == "response.completed"
    response = starter.responses.retrieve_response(final.response["id"])  # type: ignore[attr-defined]
    assert deltas and response.output_text == deltas
    assert response.usage is not None and 0 < response.usage.output_tokens <= 16


def test_agent_session_keeps_turns_with_the_inline_model(starter: Stack) -> None:
    agent = Agent(
        starter,
        model=LLM,
        instructions="Answer briefly.",
        max_output_tokens=16,
        temperature=0,
        shields=["pii"],
    )
    session = agent.create_session()
    first = session.turn("Hello, I am Ada.", stream=False)
    assert first.status == "completed" and first.output_text.strip()
    second = session.turn("Write to me at ada@example-mail.com", stream=False)
    assert [s.step_type for s in second.steps] == ["shield_call"]
    assert "personal data" in second.output_text
    items = session.history()
    assert [getattr(i, "role", None) for i in items] == ["user", "assistant", "user", "assistant"]
