"""The kernel's stack (created on first use, rebuilt when its run config file changes) and history."""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_workbench.core.errors import LlamaWorkbenchError
from llama_workbench.core.stack import Stack

CONFIG_ENV = "LLAMA_WORKBENCH_CONFIG"


@dataclass(frozen=True)
class _FileStamp:
    """What a run config file looked like when the stack was built from it."""

    path: Path
    mtime_ns: int
    size: int
    digest: str

    @classmethod
    def of(cls, path: Path) -> _FileStamp | None:
        try:
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None
        return cls(path, stat.st_mtime_ns, stat.st_size, digest)

    def changed(self) -> bool:
        """True when the file's content differs (a touch that keeps the content is no change)."""
        try:
            stat = self.path.stat()
        except OSError:
            return False  # gone or unreadable: keep the running stack
        if (stat.st_mtime_ns, stat.st_size) == (self.mtime_ns, self.size):
            return False
        new = _FileStamp.of(self.path)
        return new is not None and new.digest != self.digest


@dataclass
class NotebookSession:
    """One per kernel: which stack the magics use, and the conversation `%llama chat` keeps.

    A stack built from a YAML file is rebuilt the next time it is used after the file changed on
    disk (the Lab panel's Save, an editor), so running kernels pick up saved configs.
    """

    source: str | None = None  # a run config path or a distribution name; None: env or starter
    history: list[dict[str, Any]] = field(default_factory=list)
    agent_session: Any = None  # the AgentSession `%llama agent` talks to
    _stack: Stack | None = None
    _stamp: _FileStamp | None = None

    @property
    def stack(self) -> Stack:
        """The stack, built on first use (so `%load_ext` stays instant)."""
        if self._stack is not None and self._stamp is not None and self._stamp.changed():
            self._reload()
        if self._stack is None:
            self._stack, self._stamp = _build(self.describe)
        return self._stack

    @property
    def describe(self) -> str:
        return self.source or os.environ.get(CONFIG_ENV) or "starter"

    def switch(self, source: str) -> Stack:
        """Use another run config or distribution; the old stack is closed, history kept."""
        new, stamp = _build(source)
        old, self._stack, self.source, self._stamp = self._stack, new, source, stamp
        self.agent_session = None  # it belonged to the old stack
        if old is not None:
            old.close()
        return new

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
            self._stamp = None

    def _reload(self) -> None:
        """Rebuild from the changed file; if it no longer loads, say so and keep the old stack."""
        assert self._stamp is not None
        name = self._stamp.path.name
        try:
            new, stamp = _build(str(self._stamp.path))
        except LlamaWorkbenchError as exc:
            self._stamp = _FileStamp.of(self._stamp.path)  # don't retry until it changes again
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(
                f"llama_workbench: {name} changed but does not load ({first_line}); "
                "still using the previous stack",
                file=sys.stderr,
            )
            return
        old, self._stack, self._stamp = self._stack, new, stamp
        self.agent_session = None
        if old is not None:
            old.close()
        print(f"llama_workbench: {name} changed on disk; the stack was reloaded from it")


def _build(source: str) -> tuple[Stack, _FileStamp | None]:
    """A YAML path builds from that file (and is watched); any other word names a distribution."""
    path = Path(source).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists():
        stamp = _FileStamp.of(path)
        return Stack.from_config(path), stamp
    return Stack.from_distribution(source), None
