"""Live reload while developing a widget: with ANYWIDGET_HMR=1, editing js/*.js or js/*.css
updates the open views.

Each view's `_esm` and `_css` is a file of its own, which anywidget watches itself. Each view
imports the shared js/widget.js and js/widget.css by value (build.py writes that line): this
watches those two and writes the lines again on each save, so the views' files change and
anywidget reloads them.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import warnings
from pathlib import Path

_followed: dict[Path, threading.Event] = {}
_lock = threading.Lock()


def enabled(paths: list[Path]) -> bool:
    """Development only: asked for (ANYWIDGET_HMR=1, as anywidget asks) and not installed files."""
    if os.environ.get("ANYWIDGET_HMR") != "1" or any("site-packages" in p.parts for p in paths):
        return False
    if importlib.util.find_spec("watchfiles") is None:  # it comes with the `server` extra
        warnings.warn("ANYWIDGET_HMR=1: live reload needs `pip install watchfiles`", stacklevel=3)
        return False
    return True


def follow_shared(js_dir: Path) -> threading.Event:
    """Write the views' imports of `js_dir`'s shared files now and after every edit of those,
    in a thread (one per folder); set the returned event to stop it."""
    from llama_workbench.jupyter.widgets import build

    folder = js_dir.resolve()
    with _lock:
        stop = _followed.get(folder)
        if stop is None or stop.is_set():
            stop = _followed[folder] = threading.Event()
            build.write(folder)
            thread = threading.Thread(
                target=_follow, args=(folder, stop), name="widget.js reload", daemon=True
            )
            thread.start()
    return stop


def _follow(folder: Path, stop: threading.Event) -> None:
    from watchfiles import watch as watch_files

    from llama_workbench.jupyter.widgets import build

    def shared(_change: object, path: str) -> bool:
        return Path(path).name in build.SHARED

    # The folder, not the two files: an editor that saves by renaming replaces the file.
    for _changes in watch_files(folder, watch_filter=shared, stop_event=stop):
        build.write(folder)
