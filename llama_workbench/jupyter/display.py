"""What the magics show: tables with an HTML and a text form, and streamed answers."""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any


class Table:
    """Rows under headers: HTML in a notebook, aligned text in a terminal or a papermill log."""

    def __init__(self, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        self.title = title
        self.headers = list(headers)
        self.rows = [["" if v is None else str(v) for v in row] for row in rows]

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
            for row in self.rows
        )
        return f"<b>{html.escape(self.title)}</b><table><tr>{head}</tr>{body}</table>"

    def __repr__(self) -> str:
        widths = [
            max([len(h), *(len(r[i]) for r in self.rows)]) for i, h in enumerate(self.headers)
        ]
        lines = [
            self.title,
            "  ".join(h.ljust(w) for h, w in zip(self.headers, widths, strict=True)),
        ]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in self.rows]
        if not self.rows:
            lines.append("(none)")
        return "\n".join(lines)


def in_frontend() -> bool:
    """Whether a notebook frontend renders the output (a ZMQ kernel), not a terminal."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class Streamer:
    """Writes an answer as it arrives: plain text to stdout, or Markdown re-rendered in place."""

    def __init__(self, markdown: bool) -> None:
        self.parts: list[str] = []
        self._handle: Any = None
        self._shown_at = 0.0
        if markdown:
            from IPython.display import Markdown, display

            self._markdown = Markdown
            self._handle = display(Markdown(""), display_id=True)

    def add(self, text: str) -> None:
        if not text:
            return
        self.parts.append(text)
        if self._handle is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        elif time.monotonic() - self._shown_at > 0.1:  # re-render at most 10 times a second
            self._handle.update(self._markdown("".join(self.parts)))
            self._shown_at = time.monotonic()

    def finish(self) -> str:
        text = "".join(self.parts)
        if self._handle is not None:
            self._handle.update(self._markdown(text))
        else:
            sys.stdout.write("\n")
        return text
