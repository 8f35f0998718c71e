"""Code in chat messages: fenced blocks (language from the fence, else guessed) or a whole message."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from llama_workbench.core.errors import MissingDependencyError

# Fence labels -> CodeShield's language names; a label not here (text, json, bash, sql...) is not
# scanned: CodeShield has no rules for it, and its author told us what it is.
ALIASES: dict[str, str] = {
    **dict.fromkeys(("python", "py", "python3", "py3", "ipython", "pycon", "sage"), "python"),
    **dict.fromkeys(("javascript", "js", "jsx", "node", "nodejs", "mjs", "cjs"), "javascript"),
    **dict.fromkeys(("typescript", "ts", "tsx"), "typescript"),
    **dict.fromkeys(("c", "h"), "c"),
    **dict.fromkeys(("cpp", "c++", "cxx", "cc", "hpp", "hxx"), "cpp"),
    **dict.fromkeys(("csharp", "cs", "c#"), "csharp"),
    **dict.fromkeys(("objective-c", "objectivec", "objc", "obj-c"), "objective_c"),
    **dict.fromkeys(("php", "php3", "php4", "php5", "php7", "php8"), "php"),
    **dict.fromkeys(("ruby", "rb"), "ruby"),
    **dict.fromkeys(("rust", "rs"), "rust"),
    "java": "java",
    "hack": "hack",
    "swift": "swift",
    "xml": "xml",
}
# Fences that say "code" without saying which: the language is guessed.
GUESS_LABELS = frozenset({"", "code", "source", "snippet"})

_M = re.MULTILINE
# What each language's code tends to hold; a guess is the language with the most kinds of signs.
SIGNS: dict[str, tuple[re.Pattern[str], ...]] = {
    lang: tuple(re.compile(p, _M) for p in patterns)
    for lang, patterns in {
        "php": (r"<\?php", r"\$\w+\s*(?:=|->)", r"\$_(?:GET|POST|REQUEST|COOKIE|SERVER)\b"),
        "java": (
            r"\b(?:public|private|protected)\s+(?:static\s+)?(?:final\s+)?(?:class|void|\w+\s+\w+\()",
            r"^\s*import\s+javax?\.",
            r"\bSystem\.(?:out|err)\.",
            r"\bString\[\]\s+\w+",
            r"@Override\b",
        ),
        "csharp": (r"^\s*using\s+System", r"\bConsole\.Write", r"\bnamespace\s+[\w.]+\s*\{?"),
        "cpp": (r"\bstd::", r"#include\s*<(?:iostream|vector|string|memory|map)>", r"\bcout\s*<<"),
        "c": (
            r"^\s*#\s*include\s*[<\"]",
            r"\bint\s+main\s*\(",
            r"\b(?:printf|scanf|malloc|free|strcpy|strcat|gets|sprintf|memcpy)\s*\(",
            r"\b(?:char|int|void|unsigned|size_t)\s*\*+\s*\w+",
            r"\bchar\s+\w+\s*\[",
        ),
        "javascript": (
            r"\b(?:const|let|var)\s+[\w${}\[\], ]+\s*=",
            r"=>",
            r"\bfunction\s*\w*\s*\(",
            r"\brequire\(\s*['\"]",
            r"\b(?:document|window|location)\.\w+",
            r"\bconsole\.log\(",
        ),
        "python": (
            r"^\s*(?:from\s+[\w.]+\s+)?import\s+\w+",
            r"^\s*def\s+\w+\s*\(.*\)\s*(?:->.*)?:\s*$",
            r"^\s*(?:class\s+\w+.*|if .+|for .+ in .+|while .+|with .+|try|except.*|else):\s*$",
            r"\bself\.\w+",
            r"\bprint\(",
            r"^\s*[\w.]+\s*=\s*[\w\"'\[\({]",
        ),
    }.items()
}
# A line that reads as code rather than prose.
_CODE_LINE = re.compile(
    r"[;{}]\s*$|[:,(\[]\s*$|^\s*(?:#|//|/\*|\*)|^\s*[\w.$\[\]]+\s*=\s*\S|\)\s*$"
)


@dataclass(frozen=True)
class CodeBlock:
    """One piece of code: where it is, what language, and the code itself."""

    message_index: int
    block: int
    language: str
    code: str
    first_line: int  # the message's line (1-based) that holds the code's first line


def guess_language(code: str) -> tuple[str | None, int]:
    """The likeliest of the scanned languages and how many kinds of signs it showed."""
    best, score = None, 0
    for lang, signs in SIGNS.items():
        hits = sum(1 for sign in signs if sign.search(code))
        if hits > score:
            best, score = lang, hits
    return best, score


def looks_like_code(text: str) -> str | None:
    """The language of a message that is code without a fence, or None for prose."""
    lang, score = guess_language(text)
    lines = [line for line in text.splitlines() if line.strip()]
    if lang is None or score < 2 or not lines:
        return None
    code_lines = sum(1 for line in lines if _CODE_LINE.search(line))
    return lang if code_lines * 2 >= len(lines) else None


@functools.lru_cache(maxsize=1)
def markdown_parser() -> Any:
    """CommonMark's parser (fences in lists and quotes, ~~~ and longer fences, unclosed ones)."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        raise MissingDependencyError(
            "markdown-it-py", "safety", needed_by="inline::code-scanner"
        ) from None
    return MarkdownIt("commonmark")


def _fence_language(info: str, code: str) -> str | None:
    label = info.strip().split(maxsplit=1)[0].strip("{}.").lower() if info.strip() else ""
    if label in GUESS_LABELS:
        return guess_language(code)[0]
    return ALIASES.get(label)


def blocks_of(message_index: int, text: str, scan_unfenced: bool) -> list[CodeBlock]:
    """The code of one message: its fenced blocks or, with no fence at all, maybe all of it."""
    fences = [t for t in markdown_parser().parse(text) if t.type == "fence"]
    if not fences:
        lang = looks_like_code(text) if scan_unfenced else None
        return [CodeBlock(message_index, 0, lang, text, 1)] if lang else []
    found = []
    for number, token in enumerate(fences):
        lang = _fence_language(token.info, token.content)
        if lang is not None and token.content.strip():
            first = token.map[0] + 2 if token.map else 1  # the line after the opening fence
            found.append(CodeBlock(message_index, number, lang, token.content, first))
    return found


def extract(texts: Iterable[tuple[int, str]], scan_unfenced: bool = True) -> list[CodeBlock]:
    """Every code block of the given (message index, text) pairs, in message order."""
    return [block for index, text in texts for block in blocks_of(index, text, scan_unfenced)]
