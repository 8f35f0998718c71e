"""`SafetyPanel`: run one of the stack's shields on a text and see its verdict."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import traitlets

from llama_workbench.core.errors import BadRequestError, NotFoundError
from llama_workbench.jupyter.widgets._base import (
    JS_DIR,
    StackWidget,
    shield_ids,
    short,
    violation_info,
)

if TYPE_CHECKING:
    from llama_workbench.core.stack import Stack


class SafetyPanel(StackWidget):
    """Pick a shield, type a text, run: `result` holds the level, message, categories, metadata.

    `result` is {} before the first run; after one it has `safe` (no finding at all) and, for a
    finding, the violation's `level` (info, warn or error), `user_message`, `categories`, `metadata`.
    """

    _esm = JS_DIR / "safety.js"
    _css = JS_DIR / "safety.css"
    _actions = {"run": "run", "refresh": "refresh"}

    shields = traitlets.List(traitlets.Unicode()).tag(sync=True)
    shield_id = traitlets.Unicode("").tag(sync=True)
    role = traitlets.Enum(("user", "assistant"), "user").tag(sync=True)
    text = traitlets.Unicode("").tag(sync=True)
    result = traitlets.Dict().tag(sync=True)

    def __init__(self, stack: Stack, shield: str | None = None, text: str = "") -> None:
        if "safety" not in {a.value for a in stack.apis}:
            raise BadRequestError("This stack has no safety API: add a safety provider.")
        shields = shield_ids(stack)
        if shield and shield not in shields:
            raise NotFoundError("Shield", shield, shields)
        super().__init__(
            stack, shields=shields, shield_id=shield or (shields[0] if shields else ""), text=text
        )

    def run(
        self, text: str | None = None, shield_id: str | None = None, role: str | None = None
    ) -> None:
        """Check the text (the `text` trait by default) with the shield, in the background."""
        if text is not None:
            self.text = text
        if shield_id is not None:
            self.shield_id = shield_id
        if role is not None:
            self.role = role
        if not self.shield_id:
            raise BadRequestError("Pick a shield first (the stack has none registered).")
        if not self.text.strip():
            raise BadRequestError("Type a text to check first.")
        self.error, self.result = "", {}
        asked = {"shield_id": self.shield_id, "role": self.role, "text": self.text}
        self._submit(lambda: self._run(asked))

    def refresh(self) -> None:
        """Reload the shield list."""
        self.shields = shield_ids(self._stack)
        if self.shield_id not in self.shields:
            self.shield_id = self.shields[0] if self.shields else ""

    def _run(self, asked: dict[str, str]) -> None:
        verdict = self._stack.safety.run_shield(
            shield_id=asked["shield_id"],
            messages=[{"role": asked["role"], "content": asked["text"]}],
        )
        found = verdict.violation
        info: dict[str, Any] = {"shield_id": asked["shield_id"], "text": asked["text"]}
        if found is None:
            info.update(safe=True, level="none", user_message="", categories=[], metadata={})
        else:
            info.update(safe=False, **violation_info(asked["shield_id"], found))
        self.result = info

    def summary(self) -> str:
        lines = [
            f"SafetyPanel(shield={self.shield_id or '(none)'}, "
            f"shields: {', '.join(self.shields) or 'none'})"
        ]
        r = self.result
        if r:
            lines.append(f"  text: {short(r['text'])}")
            if r["safe"]:
                lines.append(f"  {r['shield_id']}: no violation")
            else:
                lines.append(f"  {r['shield_id']}: {r['level']}: {r['user_message']}")
                if r["categories"]:
                    lines.append(f"  categories: {', '.join(r['categories'])}")
                lines.append(f"  metadata: {short(json.dumps(r['metadata']), 200)}")
        return "\n".join(lines)
