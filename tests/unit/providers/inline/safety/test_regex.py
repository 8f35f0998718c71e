"""inline::regex: whole-word Unicode blocklists, named patterns, params, and runaway patterns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from llama_workbench import Stack
from llama_workbench.apis.inference.models import Message
from llama_workbench.apis.safety.api import SafetyProvider
from llama_workbench.apis.shields.models import Shield
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import BadRequestError, ConfigError
from llama_workbench.providers.inline.safety.regex import create
from llama_workbench.providers.inline.safety.regex.config import HAS_REGEX, RegexShieldConfig

MESSAGES = TypeAdapter(list[Message])
WORDS = ["darn", "Straße", "naïve", "дурак", "c++", "project falcon", "idiot"]
PATTERNS = {"ticket": r"\bJIRA-\d+\b", "internal_host": r"\b[\w-]+\.corp\.internal\b"}


def messages(*texts: str, role: str = "user") -> list[Message]:
    return MESSAGES.validate_python([{"role": role, "content": t} for t in texts])


def shield(**params: Any) -> Shield:
    return Shield(identifier="block", provider_id="re", provider_resource_id="block", params=params)


async def regex_provider(tmp_path: Path, **config: Any) -> Any:
    config = {"blocked_words": WORDS, "patterns": PATTERNS, **config}
    return await create(RegexShieldConfig(**config), ProviderDeps("re", {}, None, tmp_path))  # type: ignore[arg-type]


@pytest.fixture
async def blocklist(tmp_path: Path) -> Any:
    return await regex_provider(tmp_path)


async def matched(provider: Any, text: str, **params: Any) -> list[tuple[str, str]]:
    """(rule, the exact text matched) for each match."""
    answer = await provider.run_shield(shield(), messages(text), params)
    if answer.violation is None:
        return []
    return [(m["rule"], text[m["start"] : m["end"]]) for m in answer.violation.metadata["matches"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Well, DARN it.", [("darn", "DARN")]),
        ("Darn! darn?", [("darn", "Darn"), ("darn", "darn")]),
        pytest.param(
            "Wir wohnen in der Hauptstraße 5, nicht in der STRASSE",
            [("Straße", "STRASSE")],
            marks=pytest.mark.skipif(not HAS_REGEX, reason="full case folding needs `regex`"),
        ),
        ("quelle idée NAÏVE", [("naïve", "NAÏVE")]),
        ("Ты Дурак!", [("дурак", "Дурак")]),
        ("I write C++ daily", [("c++", "C++")]),
        ("news on Project\n  Falcon today", [("project falcon", "Project\n  Falcon")]),
        (
            "see JIRA-4211 on build-01.corp.internal",
            [
                ("ticket", "JIRA-4211"),
                ("internal_host", "build-01.corp.internal"),
            ],
        ),
        ("you idiot, JIRA-7", [("idiot", "idiot"), ("ticket", "JIRA-7")]),
    ],
)
async def test_matches(blocklist: Any, text: str, expected: list[tuple[str, str]]) -> None:
    assert await matched(blocklist, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "He darned the socks; the darnedest thing.",  # a word inside a longer word
        "Die Straßenbahn kommt.",
        "Naïvety is not the word.",
        "Много дураков.",  # Cyrillic: a longer word is not the word
        "I write C and Rust, cpp files too",
        "project falcons",
        "idiotic",  # whole words only
        "jira-4211 on build-01.corp.internals",  # patterns match as written: case-sensitive
        "",
    ],
)
async def test_does_not_match(blocklist: Any, text: str) -> None:
    assert await matched(blocklist, text) == []


async def test_violation_shape(blocklist: Any) -> None:
    convo = messages("hello", "darn, see JIRA-12")
    violation = (await blocklist.run_shield(shield(), convo, {})).violation
    assert violation.violation_level == "error"
    assert violation.user_message == "The message contains blocked content."
    assert violation.metadata == {
        "matches": [
            {"rule": "darn", "kind": "word", "message_index": 1, "start": 0, "end": 4},
            {"rule": "ticket", "kind": "pattern", "message_index": 1, "start": 10, "end": 17},
        ],
        "rules": ["darn", "ticket"],
    }


async def test_message_template_level_and_roles(tmp_path: Path) -> None:
    provider = await regex_provider(
        tmp_path, message="Blocked by {rules}.", level="warn", roles=["user"]
    )
    violation = (await provider.run_shield(shield(), messages("darn JIRA-1 darn"), {})).violation
    assert violation.violation_level == "warn"
    assert violation.user_message == "Blocked by darn, ticket."
    said = messages("darn", role="assistant")
    assert (await provider.run_shield(shield(), said, {})).violation is None
    assert (await provider.run_shield(shield(), said, {"roles": ["assistant"]})).violation


async def test_params_add_words_and_patterns(blocklist: Any) -> None:
    text = "the heck with JIRA-9 and ORDER-77"
    assert await matched(blocklist, text) == [("ticket", "JIRA-9")]
    assert await matched(blocklist, text, blocked_words=["heck"]) == [
        ("heck", "heck"),
        ("ticket", "JIRA-9"),
    ]
    replaced = {"ticket": r"\bORDER-\d+"}
    assert await matched(blocklist, text, patterns=replaced) == [("ticket", "ORDER-77")]
    assert await matched(blocklist, text, patterns={"ticket": None}) == []
    # `\b` alone matches no text: only the real match counts.
    assert await matched(blocklist, text, patterns={"ticket": r"\b|ORDER"}) == [("ticket", "ORDER")]
    answer = await blocklist.run_shield(shield(), messages(text), {"level": "warn", "message": "!"})
    assert (answer.violation.violation_level, answer.violation.user_message) == ("warn", "!")


async def test_shield_params_apply_without_request_params(blocklist: Any) -> None:
    own = shield(blocked_words="heck")
    assert await blocklist.register_shield(own) == own
    violation = (await blocklist.run_shield(own, messages("what the heck"), {})).violation
    assert violation.metadata["rules"] == ["heck"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"patterns": {"broken": "(unclosed"}}, ["broken", "not a valid regular expression"]),
        ({"blocked_words": ["ok", "  "]}, ["empty"]),
        ({"level": "block"}, ["level", "'warn'"]),
        ({"roles": ["robot"]}, ["robot"]),
        ({"words": ["x"]}, ["words", "Valid params: blocked_words, patterns"]),
    ],
)
async def test_rejects_bad_params(blocklist: Any, params: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(BadRequestError) as caught:
        await blocklist.register_shield(shield(**params))
    for word in words:
        assert word in caught.value.message
    with pytest.raises(BadRequestError):
        await blocklist.run_shield(shield(), messages("hi"), params)


def test_rejects_bad_config() -> None:
    with pytest.raises(ValidationError, match="pattern 'broken' is not a valid"):
        RegexShieldConfig(patterns={"ok": "a+", "broken": "[a-"})
    with pytest.raises(ValidationError, match="empty"):
        RegexShieldConfig(blocked_words=[""])
    for matches_nothing in ("", "x*", "^", "(?:foo)?"):
        with pytest.raises(ValidationError, match="matches empty text"):
            RegexShieldConfig(patterns={"lax": matches_nothing})
    with pytest.raises(ValidationError, match="timeout_s"):
        RegexShieldConfig(timeout_s=0)


def test_bad_config_in_a_stack_is_a_config_error(tmp_path: Path) -> None:
    config = {
        "data_dir": str(tmp_path),
        "apis": ["safety"],
        "providers": {
            "safety": [
                {
                    "provider_id": "re",
                    "provider_type": "inline::regex",
                    "config": {"patterns": {"broken": "(?P<x"}},
                }
            ]
        },
    }
    with pytest.raises(ConfigError, match="broken"):
        Stack.from_config(config)


@pytest.mark.skipif(not HAS_REGEX, reason="the stdlib re cannot stop a search")
async def test_runaway_pattern_is_stopped(tmp_path: Path) -> None:
    provider = await regex_provider(tmp_path, patterns={"evil": r"(a|aa)+$"}, timeout_s=0.05)
    with pytest.raises(BadRequestError, match=r"'evil' took over 0\.05 s"):
        await provider.run_shield(shield(), messages("a" * 5000 + "!"), {})
    assert (await provider.run_shield(shield(), messages("aaa"), {})).violation


async def test_run_moderation(blocklist: Any) -> None:
    flagged, clean = await blocklist.run_moderation(shield(), ["darn, JIRA-5", "all good"])
    assert flagged.flagged and not clean.flagged
    assert flagged.categories == {
        "blocklist/ticket": True,
        "blocklist/internal_host": False,
        "blocklist/darn": True,
    }
    assert flagged.category_scores == {
        "blocklist/ticket": 1.0,
        "blocklist/internal_host": 0.0,
        "blocklist/darn": 1.0,
    }
    assert flagged.category_applied_input_types == {
        "blocklist/ticket": ["text"],
        "blocklist/darn": ["text"],
    }
    # Patterns are always listed; words only when hit, so a long word list stays private.
    assert clean.categories == {"blocklist/ticket": False, "blocklist/internal_host": False}
    assert flagged.user_message == "The message contains blocked content."
    assert clean.user_message is None
    assert [m["rule"] for m in flagged.metadata["matches"]] == ["darn", "ticket"]


async def test_empty_blocklist_flags_nothing(tmp_path: Path) -> None:
    provider = await create(RegexShieldConfig(), ProviderDeps("re", {}, None, tmp_path))  # type: ignore[arg-type]
    assert isinstance(provider, SafetyProvider)
    assert (await provider.run_shield(shield(), messages("darn"), {})).violation is None
    [result] = await provider.run_moderation(shield(), ["darn"])
    assert not result.flagged and result.categories == {}
    await provider.shutdown()
