"""What a `%llama` subcommand receives (the notebook and its session), and lookups they share."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from llama_workbench.jupyter.session import NotebookSession


class MagicHost(Protocol):
    """The magic as its subcommands see it (LlamaMagics is one): they never import the magic."""

    session: NotebookSession

    @property
    def user_ns(self) -> dict[str, Any]:
        """The notebook's variables."""
        ...

    def show(self, value: Any) -> None:
        """Display `value` in the cell's output."""
        ...

    def result(self, value: Any) -> None:
        """Make `value` the cell's result (`_`, `Out[n]`) without printing it again."""
        ...

    def next_cell(self, code: str) -> None:
        """Put `code` in a new cell below."""
        ...


# A subcommand: (the magic, the rest of the line, the cell's body or None) -> the cell's value.
Handler = Callable[[MagicHost, str, "str | None"], Any]


def first_model(stack: Any, kind: str) -> str:
    """The first model of `kind` ("llm", "embedding") the stack serves, or a one-line error."""
    for m in stack.models.list():
        if m.model_type.value == kind:
            return str(m.identifier)
    raise UsageError(f"%llama: the stack serves no {kind} model (%llama models lists them)")


def parse_json(text: str) -> Any:
    """The JSON in a model's answer (a fenced ```json block or the whole text)."""
    match = re.search(r"```(?:json)?\s*\n(.*?)```", text, re.DOTALL)
    try:
        return json.loads(match.group(1) if match else text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"%llama chat --format json: the answer is not JSON ({exc})") from None
