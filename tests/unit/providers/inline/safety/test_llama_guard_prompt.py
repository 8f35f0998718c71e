"""Llama Guard 3: the taxonomy, the prompt, and the parser of the guard model's answers."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from llama_workbench.apis.inference.models import Message
from llama_workbench.providers.inline.safety.llama_guard.config import LlamaGuardConfig
from llama_workbench.providers.inline.safety.llama_guard.prompt import (
    CATEGORIES,
    Turn,
    build_prompt,
    conversation,
    moderation_name,
    parse_answer,
)

NAMES = {
    "S1": "Violent Crimes",
    "S2": "Non-Violent Crimes",
    "S3": "Sex-Related Crimes",
    "S4": "Child Sexual Exploitation",
    "S5": "Defamation",
    "S6": "Specialized Advice",
    "S7": "Privacy",
    "S8": "Intellectual Property",
    "S9": "Indiscriminate Weapons",
    "S10": "Hate",
    "S11": "Suicide & Self-Harm",
    "S12": "Sexual Content",
    "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}


def messages(*pairs: tuple[str, str]) -> list[Message]:
    adapter: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
    return adapter.validate_python([{"role": r, "content": c} for r, c in pairs])


def test_taxonomy_is_llama_guard_3() -> None:
    assert CATEGORIES == NAMES


@pytest.mark.parametrize("code", list(NAMES))
def test_every_category_parses(code: str) -> None:
    assert parse_answer(f"unsafe\n{code}") == [code]


@pytest.mark.parametrize(
    "answer",
    [
        "safe",
        "  safe  ",
        "\n\nsafe\n",
        "SAFE",
        "Safe\n",
    ],
)
def test_safe_answers(answer: str) -> None:
    assert parse_answer(answer) == []


@pytest.mark.parametrize(
    ("answer", "codes"),
    [
        ("unsafe\nS1,S10", ["S1", "S10"]),
        ("\n\nunsafe\nS1, S10\n", ["S1", "S10"]),
        ("UNSAFE\ns1 s10", ["S1", "S10"]),
        ("unsafe S14", ["S14"]),
        ("unsafe\nS2 ,S9,  S11", ["S2", "S9", "S11"]),
        ("unsafe\nS3,S3", ["S3"]),
        ("unsafe\n" + ",".join(NAMES), list(NAMES)),
    ],
)
def test_unsafe_answers_with_combined_codes(answer: str, codes: list[str]) -> None:
    assert parse_answer(answer) == codes


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("", "does not start with 'safe' or 'unsafe'"),
        ("   \n", "does not start with 'safe' or 'unsafe'"),
        ("maybe", "does not start with 'safe' or 'unsafe'"),
        ("I cannot help with that.", "does not start with 'safe' or 'unsafe'"),
        ("safer", "does not start with 'safe' or 'unsafe'"),
        ("safe\nS1", "'safe' is followed by more text"),
        ("unsafe", "'unsafe' names no category"),
        ("unsafe\n", "'unsafe' names no category"),
        ("unsafe\nS99", "unknown Llama Guard categories ['S99']"),
        ("unsafe\nS0", "unknown Llama Guard categories ['S0']"),
        ("unsafe\nS1,violence", "unknown Llama Guard categories ['VIOLENCE']"),
    ],
)
def test_malformed_answers_are_errors_never_safe(answer: str, why: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_answer(answer)
    assert why in str(info.value)


def test_prompt_checks_the_last_user_turn() -> None:
    turns = conversation(
        messages(("system", "be nice"), ("user", "hi"), ("assistant", "hello"), ("user", "how?"))
    )
    assert turns == [Turn("User", "hi"), Turn("Agent", "hello"), Turn("User", "how?")]
    prompt = build_prompt(turns)
    assert prompt.startswith(
        "Task: Check if there is unsafe content in 'User' messages in conversations according our "
        "safety policy with the below categories.\n\n<BEGIN UNSAFE CONTENT CATEGORIES>\nS1: Violent "
        "Crimes.\n"
    )
    assert "S14: Code Interpreter Abuse.\n<END UNSAFE CONTENT CATEGORIES>" in prompt
    assert (
        "<BEGIN CONVERSATION>\n\nUser: hi\n\nAgent: hello\n\nUser: how?\n\n<END CONVERSATION>"
        in (prompt)
    )
    assert "be nice" not in prompt
    assert prompt.endswith(
        "Provide your safety assessment for ONLY THE LAST User message in the above conversation:\n"
        " - First line must read 'safe' or 'unsafe'.\n"
        " - If unsafe, a second line must include a comma-separated list of violated categories."
    )


def test_prompt_checks_the_last_agent_turn_without_excluded_categories() -> None:
    prompt = build_prompt(conversation(messages(("user", "q"), ("assistant", "a"))), {"S1", "S14"})
    assert "in 'Agent' messages" in prompt and "ONLY THE LAST Agent message" in prompt
    assert "S1:" not in prompt and "S14:" not in prompt and "S10: Hate." in prompt


def test_tool_turns_and_tool_calls() -> None:
    adapter: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
    turns = conversation(
        adapter.validate_python(
            [
                {"role": "user", "content": "run it"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "function": {"name": "python", "arguments": '{"code": "rm -rf /"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "done"},
            ]
        )
    )
    assert turns == [
        Turn("User", "run it"),
        Turn("Agent", 'python({"code": "rm -rf /"})'),
        Turn("User", "done"),
    ]


def test_only_system_messages_is_an_error() -> None:
    with pytest.raises(ValueError, match="user and assistant messages"):
        conversation(messages(("system", "s"), ("developer", "d")))


def test_moderation_names() -> None:
    assert [moderation_name(c) for c in ("S1", "S2", "S4", "S9", "S10", "S11", "S12")] == [
        "violence",
        "illicit",
        "sexual/minors",
        "illicit/violent",
        "hate",
        "self-harm",
        "sexual",
    ]
    assert moderation_name("S5") == "Defamation" and moderation_name("S13") == "Elections"


def test_config_checks_excluded_categories() -> None:
    assert LlamaGuardConfig(excluded_categories=["s1", " S14 "]).excluded_categories == [
        "S1",
        "S14",
    ]
    with pytest.raises(ValidationError, match="unknown Llama Guard categories"):
        LlamaGuardConfig(excluded_categories=["S15"])
    with pytest.raises(ValidationError, match="nothing would be checked"):
        LlamaGuardConfig(excluded_categories=list(NAMES))
    with pytest.raises(ValidationError):
        LlamaGuardConfig(model="Llama-Guard-3-8B")  # type: ignore[call-arg]
