"""Developing a widget: with ANYWIDGET_HMR=1 an edit to its .js (or the shared widget.js)
reaches the open views, as anywidget's hot reload does for a single-file `_esm`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from llama_workbench.jupyter.widgets._base import JS_DIR, StackWidget


def _until(check: object, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_edits_to_the_widget_files_reach_live_widgets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANYWIDGET_HMR", "1")
    view, style = tmp_path / "demo.js", tmp_path / "demo.css"
    view.write_text('export default { render({ el }) { el.append(h("b", {}, "first")); } };\n')
    style.write_text(".demo { color: red; }\n")

    class Demo(StackWidget):
        _esm = view
        _css = style

    widget = Demo(None)  # type: ignore[arg-type]  # the stack is only kept, never used here
    assert widget._esm.startswith((JS_DIR / "widget.js").read_text())
    assert '"first"' in widget._esm and "color: red" in widget._css
    time.sleep(0.3)  # the watcher is up
    view.write_text(view.read_text().replace('"first"', '"second"'))
    assert _until(lambda: '"second"' in widget._esm), widget._esm[-200:]
    style.write_text(".demo { color: blue; }\n")
    assert _until(lambda: "color: blue" in widget._css)
    assert widget._esm.startswith((JS_DIR / "widget.js").read_text())  # still joined


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
