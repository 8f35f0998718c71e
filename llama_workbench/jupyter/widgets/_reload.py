"""Live reload while developing a widget: with ANYWIDGET_HMR=1, editing js/*.js or js/*.css
updates the open views (anywidget swaps a view's module when its `_esm` trait changes).

A widget's `_esm` is widget.js joined with its own file (see StackWidget), so anywidget's own
file watching, which needs `_esm` to be one file, can't see the edits: this watches both files
and sets the joined text on every live widget of the class.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import warnings
import weakref
from pathlib import Path
from typing import Any

_watched: dict[type, weakref.WeakSet[Any]] = {}
_lock = threading.Lock()


def enabled(paths: list[Path]) -> bool:
    """Development only: asked for (ANYWIDGET_HMR=1, as anywidget asks) and not installed files."""
    if os.environ.get("ANYWIDGET_HMR") != "1" or any("site-packages" in p.parts for p in paths):
        return False
    if importlib.util.find_spec("watchfiles") is None:  # it comes with the `server` extra
        warnings.warn("ANYWIDGET_HMR=1: live reload needs `pip install watchfiles`", stacklevel=3)
        return False
    return True


def joined(files: tuple[Path, ...]) -> str:
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def watch(widget: Any, sources: dict[str, tuple[Path, ...]]) -> None:
    """Keep `widget`'s joined traits (`_esm`, `_css`) in step with their files."""
    cls = type(widget)
    with _lock:
        if cls not in _watched:
            _watched[cls] = weakref.WeakSet()
            thread = threading.Thread(
                target=_follow, args=(cls, sources), name=f"reload {cls.__name__}", daemon=True
            )
            thread.start()
        _watched[cls].add(widget)


def _follow(cls: type, sources: dict[str, tuple[Path, ...]]) -> None:
    from watchfiles import watch as watch_files

    paths = {p.resolve() for files in sources.values() for p in files}
    for changes in watch_files(*paths):
        touched = {Path(path).resolve() for _, path in changes}
        for attr, files in sources.items():
            if touched & {f.resolve() for f in files}:
                text = joined(files)
                for widget in list(_watched[cls]):
                    setattr(widget, attr, text)
