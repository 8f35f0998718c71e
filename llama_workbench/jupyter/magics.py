"""`%llama` and `%%llama`: the stack from notebook cells, one subcommand per task."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from llama_workbench.core.errors import LlamaWorkbenchError, error_line
from llama_workbench.jupyter.parsing import HelpShown
from llama_workbench.jupyter.session import NotebookSession
from llama_workbench.jupyter.subcommands import SUBCOMMANDS, find, top_parser


@magics_class
class LlamaMagics(Magics):
    """`%llama <subcommand> ...`, dispatched by the one table in jupyter/subcommands.py."""

    def __init__(self, shell: Any, session: NotebookSession) -> None:
        super().__init__(shell)
        self.session = session

    @line_cell_magic
    def llama(self, line: str, cell: str | None = None) -> Any:
        """The stack from the notebook: %llama --help lists the subcommands."""
        name, _, rest = line.strip().partition(" ")
        if name in ("", "-h", "--help", "help"):
            return self._help(rest)
        subcommand = find(name)
        if subcommand is None:
            raise UsageError(
                f"%llama: unknown subcommand '{name}'; use one of: "
                f"{', '.join(s.name for s in SUBCOMMANDS)} (%llama --help)"
            )
        try:
            return subcommand.run(self, rest, cell)
        except HelpShown:
            return None
        except LlamaWorkbenchError as exc:
            # IPython shows a UsageError (exactly that class) as its one line, no traceback, and
            # the cell fails: a papermill pipeline stops here.
            raise UsageError(error_line(exc)) from None

    def _help(self, rest: str) -> None:
        """`%llama --help` lists the subcommands; `%llama help <subcommand>` shows its --help."""
        name = rest.strip()
        subcommand = find(name)
        if name and subcommand is None:
            raise UsageError(f"%llama help: unknown subcommand '{name}' (%llama --help)")
        (subcommand.parser() if subcommand is not None else top_parser()).print_help()

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
