"""Developing a widget: with ANYWIDGET_HMR=1 an edit to its .js or .css (anywidget watches the
view's own file) or to the shared widget.js (the views' imports are rewritten) reaches the open
views."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from llama_workbench.jupyter.widgets import _reload, build
from llama_workbench.jupyter.widgets._base import JS_DIR, StackWidget


def _until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_edits_to_a_view_and_to_the_shared_file_reach_live_widgets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANYWIDGET_HMR", "1")
    js = tmp_path / "js"
    shutil.copytree(JS_DIR, js)

    class Demo(StackWidget):  # anywidget watches these files from here on
        _esm = js / "safety.js"
        _css = js / "safety.css"

    widget = Demo(None)  # type: ignore[arg-type]  # the stack is only kept, never used here
    try:
        assert widget._esm == (js / "safety.js").read_text()
        view = js / "safety.js"
        edited = view.read_text().replace("SafetyPanel's view", "SafetyPanel's own view")

        def seen_after_writing() -> bool:
            # The watchers start in their own threads: write until one of them reports it.
            if "SafetyPanel's own view" in widget._esm:
                return True
            view.write_text(edited)
            return False

        assert _until(seen_after_writing), widget._esm[:300]
        style = js / "safety.css"
        style.write_text(style.read_text() + ".lw-safety { color: blue; }\n")
        assert _until(lambda: "color: blue" in widget._css)
        shared = js / "widget.js"
        shared.write_text(shared.read_text() + "\nexport const EDITED = 1;\n")
        assert _until(lambda: "import { h, svg, EDITED } from" in widget._esm), widget._esm[:300]
        assert build.stale(js) == []
        assert "SafetyPanel's own view" in widget._esm  # the view's own code is kept
    finally:
        _reload._followed[js.resolve()].set()  # the widget started following its folder


def test_without_hmr_nothing_is_watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANYWIDGET_HMR", raising=False)
    view = tmp_path / "still.js"
    view.write_text("export default { render() {} };\n")

    class Still(StackWidget):
        _esm = view

    widget = Still(None)  # type: ignore[arg-type]
    view.write_text("export default { render() { /* edited */ } };\n")
    time.sleep(0.5)
    assert "edited" not in widget._esm
    assert not _reload.enabled([tmp_path]) and not _reload.enabled([Path("site-packages/x")])
