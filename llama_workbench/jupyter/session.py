"""The kernel's stack (created on first use) and the notebook's chat history."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_workbench.core.stack import Stack

CONFIG_ENV = "LLAMA_WORKBENCH_CONFIG"


@dataclass
class NotebookSession:
    """One per kernel: which stack the magics use, and the conversation `%llama chat` keeps."""

    source: str | None = None  # a run config path or a distribution name; None: env or starter
    history: list[dict[str, Any]] = field(default_factory=list)
    agent_session: Any = None  # the AgentSession `%llama agent` talks to
    _stack: Stack | None = None

    @property
    def stack(self) -> Stack:
        """The stack, built on first use (so `%load_ext` stays instant)."""
        if self._stack is None:
            self._stack = _build(self.source or os.environ.get(CONFIG_ENV) or "starter")
        return self._stack

    @property
    def describe(self) -> str:
        return self.source or os.environ.get(CONFIG_ENV) or "starter"

    def switch(self, source: str) -> Stack:
        """Use another run config or distribution; the old stack is closed, history kept."""
        new = _build(source)
        old, self._stack, self.source = self._stack, new, source
        self.agent_session = None  # it belonged to the old stack
        if old is not None:
            old.close()
        return new

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None


def _build(source: str) -> Stack:
    """A YAML path builds from that file; any other word names a bundled distribution."""
    path = Path(source).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists():
        return Stack.from_config(path)
    return Stack.from_distribution(source)
