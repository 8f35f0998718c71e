"""The base of the stack widgets: front-end actions, background jobs and a text repr."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import traitlets

from llama_workbench.core.errors import MissingDependencyError, error_line
from llama_workbench.jupyter.widgets import _reload

try:
    import anywidget
except ImportError:  # the `notebook` extra brings it
    raise MissingDependencyError(
        "anywidget", "notebook", needed_by="the notebook widgets"
    ) from None

if TYPE_CHECKING:
    from llama_workbench.core.stack import Stack

JS_DIR = Path(__file__).parent / "js"


class StackWidget(anywidget.AnyWidget):
    """A widget over a `Stack`: front-end messages and Python methods start the same actions.

    Slow work runs in one background thread per widget, jobs in order, so the kernel never
    waits; traits carry the results to every view (and to views opened later). `wait()` blocks
    until the queue is empty, for scripts and tests. Failures land in the `error` trait.
    """

    busy = traitlets.Bool(False).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    # A front-end message {"type": T, **fields} calls the method _actions[T](**fields).
    _actions: ClassVar[dict[str, str]] = {}

    # The folder of the view's file: with ANYWIDGET_HMR=1, its shared widget.js/.css are followed.
    _view_dir: ClassVar[Path | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        esm = cls.__dict__.get("_esm")
        if isinstance(esm, Path):  # before anywidget makes it a watched FileContents
            cls._view_dir = esm.parent
        super().__init_subclass__(**kwargs)

    def __init__(self, stack: Stack, **traits: Any) -> None:
        # Set before the traits: observers may fire while super().__init__ assigns them.
        self._stack = stack
        self._lock = threading.RLock()
        self._jobs: deque[Callable[[], None]] = deque()
        self._idle = threading.Event()
        self._idle.set()
        self._draining = False
        super().__init__(**traits)
        self.on_msg(self._on_message)
        # Each view's `_esm`/`_css` is its own file (js/<name>.js, .css): anywidget reads it and,
        # with ANYWIDGET_HMR=1, watches it. An edit to the shared widget.js/.css rewrites every
        # view's import of it (build.py), so that those watches see it too.
        folder = self._view_dir
        if folder is not None and (folder / "widget.js").is_file() and _reload.enabled([folder]):
            _reload.follow_shared(folder)

    @property
    def stack(self) -> Stack:
        return self._stack

    # -- front-end messages

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Dispatch {"type": action, ...}; errors go to the `error` trait (no cell to fail)."""
        kind = content.get("type") if isinstance(content, Mapping) else None
        if kind not in self._actions:
            self.error = f"Unknown widget action {kind!r}; expected one of {sorted(self._actions)}"
            return
        fields = {str(k): v for k, v in content.items() if k != "type"}
        try:
            getattr(self, self._actions[kind])(**fields)
        except Exception as exc:
            self.error = error_line(exc)

    def _push(self, content: dict[str, Any]) -> None:
        """A custom message to the views on screen (ipywidgets' `send`, which Chat reuses)."""
        super().send(content)

    # -- background work

    def _submit(self, job: Callable[[], None]) -> None:
        """Queue `job` on this widget's worker thread (started when there is work)."""
        with self._lock:
            self._jobs.append(job)
            self._idle.clear()
            self.busy = True
            if self._draining:
                return
            self._draining = True
        name = f"llama-workbench-{type(self).__name__}"
        threading.Thread(target=self._drain, name=name, daemon=True).start()

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    self._draining = False
                    self.busy = False
                    self._idle.set()
                    return
                job = self._jobs.popleft()
            try:
                job()
            except Exception as exc:
                self.error = error_line(exc)

    def wait(self, timeout: float | None = 30.0) -> bool:
        """Block until the background work is done; False when `timeout` seconds pass first."""
        return self._idle.wait(timeout)

    # -- text form (terminals, papermill logs, `print`)

    def summary(self) -> str:
        """What the widget shows, as a few lines of text (each widget says more)."""
        return type(self).__name__

    def __repr__(self) -> str:
        lines = [self.summary()]
        if self.busy:
            lines.append("  (working...)")
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # anywidget's bundle: the widget view for front ends, and our summary as text/plain.
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle[0]["text/plain"] = repr(self)
        return bundle


def short(text: str, limit: int = 80) -> str:
    """One line of at most `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def jsonable(value: Any) -> Any:
    """A JSON-serialisable copy (traits travel to the browser as JSON)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def violation_info(shield_id: str, violation: Any) -> dict[str, Any]:
    """A shield's finding as the widgets show it: level, message, categories, metadata."""
    metadata = jsonable(dict(violation.metadata or {}))
    return {
        "shield_id": shield_id,
        "level": str(getattr(violation.violation_level, "value", violation.violation_level)),
        "user_message": violation.user_message or "",
        "categories": categories(metadata),
        "metadata": metadata,
    }


def categories(metadata: Mapping[str, Any]) -> list[str]:
    """The categories a shield reports, whatever it calls them (categories, types, rules)."""
    for key in ("categories", "types", "rules"):
        found = metadata.get(key)
        if isinstance(found, list) and found:
            return [str(c) for c in found]
    for key in ("violation_type", "category", "rule", "label"):
        found = metadata.get(key)
        if isinstance(found, str) and found:
            return [c for c in found.split(",") if c]
    return []


def llm_ids(stack: Stack) -> list[str]:
    """The chat models the stack serves."""
    if "models" not in {a.value for a in stack.apis}:
        return []
    return [str(m.identifier) for m in stack.models.list() if m.model_type.value == "llm"]


def shield_ids(stack: Stack) -> list[str]:
    """The shields the stack can run (none without the safety API)."""
    if "shields" not in {a.value for a in stack.apis}:
        return []
    return [str(s.identifier) for s in stack.shields.list()]
