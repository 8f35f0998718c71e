"""The one build step of the widget views: each view imports the shared js/widget.js (an ES
module) and js/widget.css by value, as a data: URL on its first lines, so the view is one
self-contained file that anywidget loads, and with ANYWIDGET_HMR=1 watches, as it is. A data:
URL resolves wherever the view's module runs (JupyterLab, Notebook, VS Code, a headless
browser); a relative path would not, as anywidget loads a view from a blob: URL.

    python -m llama_workbench.jupyter.widgets.build          # after editing widget.js/.css
    python -m llama_workbench.jupyter.widgets.build --check  # exit 1 if a view is stale

The lines are committed; tests/unit/jupyter/test_widgets.py fails when one is out of date.
With ANYWIDGET_HMR=1 the widgets rewrite them on every save of a shared file (`_reload.py`).
"""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

from llama_workbench.generated_files import generator_main

JS_DIR = Path(__file__).parent / "js"
SHARED = ("widget.js", "widget.css")
_BY_SUFFIX = {".js": "widget.js", ".css": "widget.css"}
_WRITTEN_BY = "written by `python -m llama_workbench.jupyter.widgets.build`: edit {name}"


def views(js_dir: Path = JS_DIR) -> list[Path]:
    """Every view's .js and .css (the shared files aside), by name."""
    return sorted(p for p in js_dir.iterdir() if p.suffix in _BY_SUFFIX and p.name not in SHARED)


def header(view: Path, js_dir: Path = JS_DIR) -> str:
    """The lines a view starts with: a note, and the import of the current shared file."""
    name = _BY_SUFFIX[view.suffix]
    text = (js_dir / name).read_text(encoding="utf-8")
    data = base64.b64encode(text.encode()).decode()
    note = _WRITTEN_BY.format(name=name)
    if name == "widget.css":
        return f'/* {name}, {note} */\n@import url("data:text/css;base64,{data}");\n'
    exported = re.findall(r"^export (?:async )?(?:function\*?|const|let|class) (\w+)", text, re.M)
    if not exported:
        raise ValueError(f"{js_dir / name} exports nothing")
    names = ", ".join(exported)
    return f'// {name}, {note}\nimport {{ {names} }} from "data:text/javascript;base64,{data}";\n'


def own_part(text: str, view: Path) -> str:
    """A view's own code: what follows its header (all of it without one)."""
    first, _, rest = text.partition("\n")
    if not first.startswith(("// widget.js, written by", "/* widget.css, written by")):
        return text
    return rest.partition("\n")[2]


def bundled(view: Path, js_dir: Path = JS_DIR) -> str:
    """What `view` should hold: the current header, then its own code."""
    return header(view, js_dir) + own_part(view.read_text(encoding="utf-8"), view)


def stale(js_dir: Path = JS_DIR) -> list[Path]:
    """The views whose header does not import the current shared file."""
    return [v for v in views(js_dir) if v.read_text(encoding="utf-8") != bundled(v, js_dir)]


def write(js_dir: Path = JS_DIR) -> list[Path]:
    """Bring every stale view up to date; the ones rewritten."""
    changed = stale(js_dir)
    for view in changed:
        view.write_text(bundled(view, js_dir), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    return generator_main(
        argv,
        prog="python -m llama_workbench.jupyter.widgets.build",
        description="Write each widget view's import of the shared widget.js / widget.css.",
        stale=lambda: (f"{view.name} (run this without --check)" for view in stale()),
        write=lambda: (view.name for view in write()),
    )


if __name__ == "__main__":
    sys.exit(main())
