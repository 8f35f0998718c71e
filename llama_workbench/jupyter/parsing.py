"""Arguments of `%llama` subcommands: argparse parsers whose errors are one-line UsageErrors."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any, NoReturn

from IPython.core.error import UsageError


class HelpShown(Exception):
    """`--help` printed the usage: the magic stops there, successfully."""


class MagicParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting the kernel.

    `summary` is the subcommand's line in `%llama --help` (and its description, unless one is
    given): the parser holds every text of its subcommand.
    """

    def __init__(self, *args: Any, summary: str, **kwargs: Any) -> None:
        kwargs.setdefault("description", summary)
        super().__init__(*args, **kwargs)
        self.summary = summary

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if status:
            raise UsageError(message or f"{self.prog}: invalid arguments")
        raise HelpShown

    def print_help(self, file: Any = None) -> None:
        super().print_help(file or sys.stdout)


def split(line: str, parser: MagicParser) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise UsageError(
            f"{parser.prog}: {exc} (quote the text, or put it in a %%llama cell)"
        ) from None


def split_options(line: str, parser: MagicParser) -> tuple[list[str], str]:
    """Leading options of `line` as tokens, and the rest of the line, untouched, as free text.

    A prompt may hold quotes and apostrophes ("what's up?") that shell-style splitting would
    reject, so only the options before it are split.
    """
    flags = {s for a in parser._actions if a.nargs == 0 for s in a.option_strings}
    rest = line.strip()
    tokens: list[str] = []
    while rest.startswith("-"):
        if rest == "--" or rest.startswith("-- "):
            rest = rest[2:].lstrip()
            break
        option, _, rest = rest.partition(" ")
        rest = rest.lstrip()
        name = option.split("=", 1)[0]
        tokens.append(option)
        if name in flags or "=" in option or not rest:
            continue
        value, rest = _first_token(rest, parser)
        tokens.append(value)
    return tokens, rest


def _first_token(text: str, parser: MagicParser) -> tuple[str, str]:
    """An option's value (quoted or a bare word) and the text after it."""
    if text[0] in "\"'":
        end = text.find(text[0], 1)
        if end < 0:
            raise UsageError(f"{parser.prog}: no closing quotation for {text[:20]}...")
        return text[1:end], text[end + 1 :].lstrip()
    value, _, rest = text.partition(" ")
    return value, rest.lstrip()


def parse(parser: MagicParser, tokens: list[str]) -> argparse.Namespace:
    return parser.parse_args(tokens)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def temperature(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 2.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2, got {value}")
    return value
