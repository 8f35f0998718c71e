"""`%llama` and `%%llama`: the stack from notebook cells, one subcommand per task."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from llama_workbench.core.errors import LlamaWorkbenchError, error_line
from llama_workbench.jupyter import (
    agent_command,
    batch_command,
    commands,
    eval_command,
    finetune_command,
    prompt_command,
    trace_command,
)
from llama_workbench.jupyter.host import Handler
from llama_workbench.jupyter.parsers import SUBCOMMANDS, top_parser
from llama_workbench.jupyter.parsing import HelpShown
from llama_workbench.jupyter.session import NotebookSession


@magics_class
class LlamaMagics(Magics):
    """`%llama <subcommand> ...`; `%llama --help` lists the subcommands."""

    def __init__(self, shell: Any, session: NotebookSession) -> None:
        super().__init__(shell)
        self.session = session

    @line_cell_magic
    def llama(self, line: str, cell: str | None = None) -> Any:
        """The stack from the notebook: %llama --help lists the subcommands."""
        name, _, rest = line.strip().partition(" ")
        if name in ("", "-h", "--help", "help"):
            return self._help(rest)
        handler = _HANDLERS.get(name)
        if handler is None:
            raise UsageError(
                f"%llama: unknown subcommand '{name}'; use one of: {', '.join(SUBCOMMANDS)} "
                "(%llama --help)"
            )
        try:
            return handler(self, rest, cell)
        except HelpShown:
            return None
        except LlamaWorkbenchError as exc:
            # IPython shows a UsageError (exactly that class) as its one line, no traceback, and
            # the cell fails: a papermill pipeline stops here.
            raise UsageError(error_line(exc)) from None

    def _help(self, rest: str) -> None:
        try:
            top_parser().parse_args(["--help"])
        except HelpShown:
            return None

    # What the subcommands get of the magic (host.MagicHost).
    @property
    def user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    def show(self, value: Any) -> None:
        display(value)

    def result(self, value: Any) -> None:
        """Make `value` the cell's result (`_`, `Out[n]`) without printing it again."""
        if self.shell is not None:
            self.shell.displayhook.update_user_ns(value)

    def next_cell(self, code: str) -> None:
        if self.shell is not None:
            self.shell.set_next_input(code, replace=False)


# The subcommands and what runs each, in the order of their help (parsers.SUBCOMMANDS).
_HANDLERS: dict[str, Handler] = {
    "chat": commands.chat,
    "history": commands.history,
    "reset": commands.reset,
    "models": commands.models,
    "status": commands.status,
    "stack": commands.stack,
    "config": commands.config,
    "rag": commands.rag,
    "shield": commands.shield,
    "agent": agent_command.agent,
    "eval": eval_command.run_eval_magic,
    "batch": batch_command.batch,
    "finetune": finetune_command.run_finetune_magic,
    "prompt": prompt_command.prompt,
    "trace": trace_command.trace,
    "widget": commands.widget,
}
