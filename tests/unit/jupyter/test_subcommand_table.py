"""Every `%llama` subcommand the help lists runs, and every one that runs is in the help."""

from __future__ import annotations

from llama_workbench.jupyter.magics import _HANDLERS
from llama_workbench.jupyter.parsers import SUBCOMMANDS


def test_the_help_and_the_dispatch_name_the_same_subcommands_in_order() -> None:
    assert list(_HANDLERS) == list(SUBCOMMANDS)
