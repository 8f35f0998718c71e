"""inline::regex: flags messages holding blocked words or matching named patterns; no model."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from llama_workbench.apis.inference.models import Message
from llama_workbench.apis.safety.models import ModerationResult, RunShieldResponse, ViolationLevel
from llama_workbench.apis.shields.models import Shield
from llama_workbench.core.errors import BadRequestError
from llama_workbench.providers.inline.safety.common import (
    all_text,
    moderation,
    params_problems,
    verdict,
)
from llama_workbench.providers.inline.safety.regex.config import (
    HAS_REGEX,
    RegexShieldConfig,
    RegexShieldParams,
    engine,
)

WORDS_RULE = "blocked_words"


def _fold(text: str) -> str:
    """A word's lookup key: case folded, runs of whitespace as one space."""
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class Rules:
    """A blocklist compiled: one alternation for the words, one regex per named pattern."""

    words: Any  # a compiled pattern, or None without words
    word_names: dict[str, str]
    patterns: tuple[tuple[str, Any], ...]


@functools.lru_cache(maxsize=64)
def compile_rules(words: tuple[str, ...], patterns: tuple[tuple[str, str], ...]) -> Rules:
    """Compile once per distinct blocklist: shields and calls repeat the same few."""
    if not words and not patterns:  # an empty blocklist needs no engine (nor its import)
        return Rules(None, {}, ())
    ENGINE = engine()  # the `re` or `regex` module
    words_re = None
    if words:
        # Longest first, so a phrase wins over a word it starts with; `\s+` lets phrases wrap lines.
        alternatives = (
            r"\s+".join(ENGINE.escape(part) for part in w.split())
            for w in sorted(words, key=len, reverse=True)
        )
        # Lookarounds instead of \b: whole words even when a word starts or ends with `+` or `.`.
        flags = ENGINE.IGNORECASE | (ENGINE.FULLCASE if HAS_REGEX else 0)
        words_re = ENGINE.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)", flags)
    compiled = tuple((name, ENGINE.compile(pattern)) for name, pattern in patterns)
    return Rules(words_re, {_fold(w): w for w in words}, compiled)


@dataclass(frozen=True)
class Match:
    rule: str
    kind: str  # "word" or "pattern"
    start: int
    end: int

    def as_metadata(self, message_index: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"rule": self.rule, "kind": self.kind}
        if message_index is not None:
            data["message_index"] = message_index
        return {**data, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Settings:
    """Config and shield params merged: the blocklist of one run and how it answers."""

    rules: Rules
    pattern_names: tuple[str, ...]
    level: ViolationLevel
    roles: list[str] | None
    message: str


class RegexShieldImpl:
    """The inline::regex safety provider: any shield id; params extend the configured blocklist."""

    def __init__(self, config: RegexShieldConfig) -> None:
        self.config = config
        self.settings({})  # compile the configured blocklist now, not on the first message

    def settings(self, params: dict[str, Any] | None) -> Settings:
        """Config defaults extended by shield params; wrong params are a BadRequestError."""
        try:
            given = RegexShieldParams.model_validate(params or {})
        except ValidationError as exc:
            raise BadRequestError(_invalid_params(exc)) from None
        words = dict.fromkeys([*self.config.blocked_words, *(given.blocked_words or [])])
        merged: dict[str, str | None] = {**self.config.patterns, **(given.patterns or {})}
        patterns = tuple((n, p) for n, p in merged.items() if p is not None)
        return Settings(
            rules=compile_rules(tuple(words), patterns),
            pattern_names=tuple(n for n, _ in patterns),
            level=ViolationLevel(given.level or self.config.level),
            roles=self.config.roles if given.roles is None else given.roles,
            message=self.config.message if given.message is None else given.message,
        )

    def find(self, text: str, rules: Rules) -> list[Match]:
        """Every match of the blocklist in `text`, in text order."""
        found: list[Match] = []
        if rules.words is not None:
            for m in self._search(WORDS_RULE, rules.words, text):
                rule = rules.word_names.get(_fold(m[0]), m[0])
                found.append(Match(rule, "word", m.start(), m.end()))
        for name, pattern in rules.patterns:
            found += [
                Match(name, "pattern", m.start(), m.end())
                for m in self._search(name, pattern, text)
                if m.end() > m.start()  # a lookaround alone matches no text
            ]
        return sorted(found, key=lambda m: (m.start, m.end))

    def _search(self, name: str, pattern: Any, text: str) -> list[Any]:
        if not HAS_REGEX:
            return list(pattern.finditer(text))
        try:
            return list(pattern.finditer(text, timeout=self.config.timeout_s))
        except TimeoutError:
            raise BadRequestError(
                f"Blocklist rule '{name}' took over {self.config.timeout_s} s on this input; "
                "simplify it (nested repeats such as (a+)+ backtrack without end)."
            ) from None

    async def register_shield(self, shield: Shield) -> Shield:
        self.settings(shield.params)
        return shield

    async def run_shield(
        self, shield: Shield, messages: list[Message], params: dict[str, Any]
    ) -> RunShieldResponse:
        # The router merges the shield's params already; merging here too serves direct callers.
        settings = self.settings({**(shield.params or {}), **params})
        hits: list[dict[str, Any]] = []
        for index, (message, text) in enumerate(zip(messages, all_text(messages), strict=True)):
            if settings.roles is None or message.role in settings.roles:
                hits += [m.as_metadata(index) for m in self.find(text, settings.rules)]
        if not hits:
            return verdict(None)
        rules = list(dict.fromkeys(h["rule"] for h in hits))
        user_message = settings.message.replace("{rules}", ", ".join(rules))
        return verdict(settings.level, user_message, matches=hits, rules=rules)

    async def run_moderation(self, shield: Shield, texts: list[str]) -> list[ModerationResult]:
        settings = self.settings(shield.params)
        # Every pattern is a category; words only when hit (a long word list would swamp the result).
        categories = [f"blocklist/{name}" for name in settings.pattern_names]
        results = []
        for text in texts:
            found = self.find(text, settings.rules)
            rules = list(dict.fromkeys(m.rule for m in found))
            flagged = [f"blocklist/{r}" for r in rules]
            message = settings.message.replace("{rules}", ", ".join(rules))
            results.append(
                moderation(
                    {c: float(c in flagged) for c in categories},
                    flagged,
                    message,
                    matches=[m.as_metadata() for m in found],
                )
            )
        return results

    async def shutdown(self) -> None:
        return None


def _invalid_params(exc: ValidationError) -> str:
    problems = params_problems(exc)
    return f"Invalid regex shield params: {problems}. Valid params: {', '.join(RegexShieldParams.model_fields)}."
