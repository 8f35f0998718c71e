"""The one table of `%llama` subcommands: what `%llama --help` lists and what the magic runs.

Each entry names a subcommand, the parser that holds its texts (its line in the listing, its
`--help`) and the handler that runs it. The help and the dispatch both read this table, in
this order.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from llama_workbench.jupyter import (
    agent_command,
    batch_command,
    commands,
    eval_command,
    finetune_command,
    parsers,
    prompt_command,
    trace_command,
)
from llama_workbench.jupyter.host import Handler
from llama_workbench.jupyter.parsing import MagicParser

__all__ = ["SUBCOMMANDS", "Subcommand", "find", "top_parser"]


@dataclass(frozen=True)
class Subcommand:
    """A `%llama` subcommand: its name, its parser (texts, arguments, --help), its handler."""

    name: str
    parser: Callable[[], MagicParser]
    run: Handler

    @property
    def summary(self) -> str:
        """Its line in `%llama --help`."""
        return self.parser().summary


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("chat", parsers.chat_parser, commands.chat),
    Subcommand("history", parsers.history_parser, commands.history),
    Subcommand("reset", parsers.reset_parser, commands.reset),
    Subcommand("models", parsers.models_parser, commands.models),
    Subcommand("status", parsers.status_parser, commands.status),
    Subcommand("stack", parsers.stack_parser, commands.stack),
    Subcommand("config", parsers.config_parser, commands.config),
    Subcommand("rag", parsers.rag_parser, commands.rag),
    Subcommand("shield", parsers.shield_parser, commands.shield),
    Subcommand("agent", agent_command.agent_parser, agent_command.agent),
    Subcommand("eval", eval_command.eval_parser, eval_command.run_eval_magic),
    Subcommand("batch", batch_command.batch_parser, batch_command.batch),
    Subcommand("finetune", finetune_command.finetune_parser, finetune_command.run_finetune_magic),
    Subcommand("prompt", prompt_command.prompt_parser, prompt_command.prompt),
    Subcommand("trace", trace_command.trace_parser, trace_command.trace),
    Subcommand("widget", parsers.widget_parser, commands.widget),
)
_BY_NAME = {s.name: s for s in SUBCOMMANDS}


def find(name: str) -> Subcommand | None:
    """The subcommand called `name`, or None."""
    return _BY_NAME.get(name)


def top_parser() -> MagicParser:
    """`%llama` itself: its --help lists the table's subcommands with their summaries."""
    lines = [f"  {s.name:<8} {s.summary}" for s in SUBCOMMANDS]
    parser = MagicParser(
        prog="%llama",
        summary="The stack from the notebook.",
        description="The stack from the notebook. Subcommands:\n" + "\n".join(lines),
        epilog="`%llama <subcommand> --help` for each. As a cell magic (%%llama chat ...), the "
        "cell's body is the prompt or text.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=True,
    )
    parser.add_argument("subcommand", nargs="?", choices=list(_BY_NAME))
    return parser
