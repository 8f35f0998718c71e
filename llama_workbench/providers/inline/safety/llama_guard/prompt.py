"""Llama Guard 3's hazard taxonomy, the prompt it is asked with, and the parser of its answers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from string import Template
from typing import Literal

from llama_workbench.apis.inference.models import AssistantMessage, Message, content_text

# The MLCommons hazard taxonomy as Llama Guard 3 was trained on it (its model card's names).
CATEGORIES: dict[str, str] = {
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

# OpenAI's moderation category where one fits; the others keep their Llama Guard names.
OPENAI_NAMES: dict[str, str] = {
    "S1": "violence",
    "S2": "illicit",
    "S4": "sexual/minors",
    "S9": "illicit/violent",
    "S10": "hate",
    "S11": "self-harm",
    "S12": "sexual",
}

DEFAULT_USER_MESSAGE = "I can't answer that. Can I help with something else?"

Role = Literal["User", "Agent"]

_PROMPT = Template(
    "Task: Check if there is unsafe content in '$role' messages in conversations according our "
    "safety policy with the below categories.\n"
    "\n"
    "<BEGIN UNSAFE CONTENT CATEGORIES>\n"
    "$categories\n"
    "<END UNSAFE CONTENT CATEGORIES>\n"
    "\n"
    "<BEGIN CONVERSATION>\n"
    "\n"
    "$conversation\n"
    "\n"
    "<END CONVERSATION>\n"
    "\n"
    "Provide your safety assessment for ONLY THE LAST $role message in the above conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated categories."
)

_ANSWER = re.compile(r"\A\s*(safe|unsafe)\b(.*)\Z", re.IGNORECASE | re.DOTALL)
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Turn:
    """One turn of the conversation Llama Guard reads: 'User' (input) or 'Agent' (output)."""

    role: Role
    text: str


def moderation_name(code: str) -> str:
    """The name a category has in a moderation result."""
    return OPENAI_NAMES.get(code, CATEGORIES[code])


def normalize_codes(codes: Iterable[str]) -> list[str]:
    """Category codes as 'S1'..'S14' (case and spaces forgiven); ValueError names unknown ones."""
    normalized = [str(c).strip().upper() for c in codes]
    unknown = [c for c in normalized if c not in CATEGORIES]
    if unknown:
        known = ", ".join(f"{code} ({name})" for code, name in CATEGORIES.items())
        raise ValueError(f"unknown Llama Guard categories {unknown}; the categories are {known}")
    return list(dict.fromkeys(normalized))


def conversation(messages: Sequence[Message]) -> list[Turn]:
    """The turns Llama Guard reads: assistant messages are 'Agent', user and tool ones 'User'.

    System and developer messages are instructions to the model, not part of the conversation.
    Tool results count as input (they reach the model as a user's text would).
    """
    turns = [
        Turn("Agent" if m.role == "assistant" else "User", _text(m))
        for m in messages
        if m.role not in ("system", "developer")
    ]
    if not turns:
        raise ValueError(
            "Llama Guard checks user and assistant messages, and there are none "
            "(system and developer messages are not checked)"
        )
    return turns


def _text(message: Message) -> str:
    text = content_text(message.content)
    if isinstance(message, AssistantMessage) and message.tool_calls:
        # A tool call is what the agent does: S14 (code interpreter abuse) lives there.
        calls = [f"{c.function.name}({c.function.arguments})" for c in message.tool_calls]
        text = "\n".join([text, *calls] if text else calls)
    return text


def build_prompt(turns: Sequence[Turn], excluded: Iterable[str] = ()) -> str:
    """The Llama Guard 3 prompt checking the last turn, without the `excluded` categories."""
    skip = set(excluded)
    return _PROMPT.substitute(
        role=turns[-1].role,
        categories="\n".join(
            f"{code}: {name}." for code, name in CATEGORIES.items() if code not in skip
        ),
        conversation="\n\n".join(f"{t.role}: {t.text}" for t in turns),
    )


def parse_answer(answer: str) -> list[str]:
    """[] for 'safe'; the codes of 'unsafe\\nS1,S10'; ValueError for anything else.

    Case and whitespace are forgiven, and codes may be separated by commas and/or spaces; an
    answer that is not a verdict is never read as 'safe'.
    """
    match = _ANSWER.match(answer)
    if match is None:
        raise ValueError("it does not start with 'safe' or 'unsafe'")
    verdict, rest = match.group(1).lower(), match.group(2)
    tokens = [t for t in _SEPARATORS.split(rest) if t]
    if verdict == "safe":
        if tokens:
            raise ValueError("'safe' is followed by more text")
        return []
    if not tokens:
        raise ValueError("'unsafe' names no category")
    try:
        return normalize_codes(tokens)
    except ValueError as exc:
        raise ValueError(f"'unsafe' with {exc}") from None
