"""The widget views' one build step (jupyter/widgets/build.py): each view imports the shared
widget.js / widget.css by value, and the committed lines are the current ones."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

from llama_workbench.jupyter.widgets import build

JS_DIR = Path(__file__).resolve().parents[3] / "llama_workbench" / "jupyter" / "widgets" / "js"


def test_every_view_imports_the_current_shared_files() -> None:
    assert build.stale() == [], "run: python -m llama_workbench.jupyter.widgets.build"
    assert build.main(["--check"]) == 0
    views = build.views()
    assert {v.name for v in views} >= {"chat.js", "chat.css", "finetune.js", "finetune.css"}
    for view in views:
        shared = "widget.css" if view.suffix == ".css" else "widget.js"
        data = re.search(r"base64,([A-Za-z0-9+/=]+)\"", view.read_text())
        assert data, view.name
        assert base64.b64decode(data.group(1)).decode() == (JS_DIR / shared).read_text()


def test_an_edit_to_a_shared_file_makes_the_views_stale_until_built(tmp_path: Path) -> None:
    copy = tmp_path / "js"
    shutil.copytree(JS_DIR, copy)
    view = copy / "safety.js"
    own = build.own_part(view.read_text(), view)
    assert own.startswith("// SafetyPanel's view")
    widget_js = copy / "widget.js"
    widget_js.write_text(widget_js.read_text() + "\nexport const VERSION = 2;\n")
    js_views = {v.name for v in copy.glob("*.js")} - {"widget.js"}
    assert {p.name for p in build.stale(copy)} == js_views
    assert {p.name for p in build.write(copy)} == js_views
    assert build.stale(copy) == []
    first = view.read_text().splitlines()[1]
    assert first.startswith("import { h, svg, VERSION } from ")
    assert build.own_part(view.read_text(), view) == own  # the view's own code is kept


def test_each_view_loads_as_a_module_with_its_helpers() -> None:
    # As the Lab extension's tests: Node.js is part of the set-up (the extension's build needs it).
    assert shutil.which("node"), "Node.js is missing: loading the widget views needs it"
    # node resolves the data: import as a browser does: the module loads, render is there.
    names = [v.stem for v in build.views() if v.suffix == ".js"]
    base = JS_DIR.as_uri() + "/"
    script = (
        f"for (const n of {json.dumps(names)}) {{ const m = await import({json.dumps(base)} + n "
        "+ '.js'); if (typeof m.default.render !== 'function') throw new Error(n); }"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
