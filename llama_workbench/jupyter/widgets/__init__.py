"""Notebook widgets (anywidget) over a `Stack`: chat, RAG explorer, safety panel, inspector, eval,
fine-tuning."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llama_workbench.core.errors import BadRequestError
from llama_workbench.jupyter.widgets._base import StackWidget
from llama_workbench.jupyter.widgets.chat import ChatWidget
from llama_workbench.jupyter.widgets.eval import EvalDashboard
from llama_workbench.jupyter.widgets.finetune import FineTuneMonitor
from llama_workbench.jupyter.widgets.inspector import StackInspector
from llama_workbench.jupyter.widgets.rag import RAGExplorer
from llama_workbench.jupyter.widgets.safety import SafetyPanel

if TYPE_CHECKING:
    from llama_workbench.core.stack import Stack

WIDGETS: dict[str, type[StackWidget]] = {
    "chat": ChatWidget,
    "rag": RAGExplorer,
    "safety": SafetyPanel,
    "inspector": StackInspector,
    "eval": EvalDashboard,
    "finetune": FineTuneMonitor,
}


def show(name: str, stack: Stack, **options: Any) -> StackWidget:
    """The widget called `name` (chat, rag, safety, inspector, eval, finetune) over `stack`.

    Return it from a cell (or a magic) to display it; `options` go to its constructor, e.g.
    `show("chat", stack, model="m", shields=["pii"])`.
    """
    cls = WIDGETS.get(name)
    if cls is None:
        raise BadRequestError(f"Unknown widget '{name}'; use one of: {', '.join(WIDGETS)}.")
    return cls(stack, **options)


__all__ = [
    "WIDGETS",
    "ChatWidget",
    "EvalDashboard",
    "FineTuneMonitor",
    "RAGExplorer",
    "SafetyPanel",
    "StackInspector",
    "StackWidget",
    "show",
]
