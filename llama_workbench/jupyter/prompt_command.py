"""`%llama prompt`: stored prompt templates (the Prompts API) from notebook cells."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from llama_workbench.apis.prompts.models import placeholders
from llama_workbench.jupyter.display import Table
from llama_workbench.jupyter.parsing import MagicParser, parse, positive_int, split, split_options

if TYPE_CHECKING:
    from llama_workbench.jupyter.host import MagicHost

DESCRIPTION = (
    "Versioned prompt templates with {{variables}}: create (text on the line or in a "
    "%%llama prompt create cell; variables default to its placeholders; an existing --id gets a "
    "new version), list, show (every version, or --version N), render (name=value ...), "
    "set-default ID VERSION, delete ID."
)
# Each action and the options it takes.
ACTIONS = {
    "create": ("var", "id", "out"),
    "list": (),
    "show": ("version",),
    "render": ("version", "out"),
    "set-default": (),
    "delete": (),
}
# What IPython leaves of `{{name}}` on a %llama line: it expands {x} and turns {{ into {.
_EXPANDED = re.compile(r"(?<!\{)\{\s*\w+\s*\}(?!\})")
_SHOWN = 60  # characters of a prompt's text in a table


def prompt_parser() -> MagicParser:
    p = MagicParser(
        prog="%llama prompt",
        summary="Prompt templates with {{variables}}: create, list, show, render, set-default, delete.",
        description=DESCRIPTION,
    )
    p.add_argument("action", choices=list(ACTIONS))
    p.add_argument("args", nargs="*", help="the prompt id, then render's name=value pairs")
    p.add_argument(
        "--var",
        action="append",
        default=None,
        metavar="NAME",
        help="create: a variable of the template (repeatable; default: its placeholders)",
    )
    p.add_argument("--id", help="create: add a version to this prompt instead of a new prompt")
    p.add_argument("--version", "-v", type=positive_int, help="show/render: this version")
    p.add_argument("--out", "-o", help="create: store the id, render: the text, in this variable")
    return p


def prompt(magic: MagicHost, line: str, cell: str | None) -> Any:
    """`%llama prompt <action> ...`; `%llama prompt --help` describes each action."""
    parser = prompt_parser()
    action, _, rest = line.strip().partition(" ")
    if action == "create":
        tokens, text = split_options(rest, parser)
        args = parse(parser, ["create", *tokens])
        args.args = [text] if text else []
        _check_options(args)
        return _create(magic, args, cell)
    args = parse(parser, split(line, parser))
    _check_options(args)
    prompts = magic.session.stack.prompts
    if args.action == "list":
        _count(args, 0)
        return _list(prompts.list_prompts().data)
    if args.action == "render":
        return _render(magic, prompts, args)
    _count(args, 2 if args.action == "set-default" else 1)
    prompt_id = args.args[0]
    if args.action == "show":
        return _show(prompts, prompt_id, args.version)
    if args.action == "delete":
        prompts.delete_prompt(prompt_id)
        print(f"Deleted prompt {prompt_id}.")
        return None
    version = _version(args.args[1])
    prompts.set_default_version(prompt_id, version)
    print(f"Prompt {prompt_id} now uses version {version} by default.")
    return None


def _check_options(args: argparse.Namespace) -> None:
    for option in ("var", "id", "version", "out"):
        if getattr(args, option) is not None and option not in ACTIONS[args.action]:
            raise UsageError(
                f"%llama prompt {args.action}: --{option} is not an option of {args.action} "
                "(%llama prompt --help)"
            )


def _count(args: argparse.Namespace, wanted: int) -> None:
    usage = {
        "list": "no arguments",
        "show": "the prompt id",
        "delete": "the prompt id",
        "set-default": "the prompt id and a version",
    }[args.action]
    if len(args.args) != wanted:
        raise UsageError(f"%llama prompt {args.action}: give {usage} (%llama prompt --help)")


def _version(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"%llama prompt: a version is a number from 1, got '{text}'")
    return int(text)


def _create(magic: MagicHost, args: argparse.Namespace, cell: str | None) -> Any:
    if cell is not None:
        text = cell.strip()
    else:
        text = " ".join(args.args).strip()
        if _EXPANDED.search(text) and "{{" not in text:
            raise UsageError(
                "%llama prompt create: on a %llama line IPython turns {{name}} into {name}; "
                "put the template in the body of a %%llama prompt create cell"
            )
    if not text:
        raise UsageError("%llama prompt create: give the template's text, or put it in the cell")
    variables = args.var if args.var is not None else placeholders(text)
    prompts = magic.session.stack.prompts
    if args.id:
        latest = prompts.list_prompt_versions(args.id).data[-1].version
        made = prompts.update_prompt(args.id, text, latest, variables)
    else:
        made = prompts.create_prompt(prompt=text, variables=variables)
    names = ", ".join(made.variables) or "none"
    print(f"Prompt {made.prompt_id}, version {made.version} (variables: {names}).")
    if args.out:
        magic.user_ns[args.out] = made.prompt_id
    magic.result(made)
    return None


def _render(magic: MagicHost, prompts: Any, args: argparse.Namespace) -> Any:
    if not args.args:
        raise UsageError("%llama prompt render: give the prompt id, then name=value pairs")
    prompt_id, *pairs = args.args
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"%llama prompt render: values are name=value, got '{pair}'")
        values[name] = value
    text = str(prompts.render(prompt_id, variables=values, version=args.version))
    print(text)
    if args.out:
        magic.user_ns[args.out] = text
    magic.result(text)
    return None


def _list(found: list[Any]) -> Table:
    rows = [(p.prompt_id, p.version, ", ".join(p.variables), _short(p.prompt)) for p in found]
    return Table("Prompts (default versions)", ["id", "version", "variables", "prompt"], rows)


def _show(prompts: Any, prompt_id: str, version: int | None) -> Table:
    if version is not None:
        found = [prompts.get_prompt(prompt_id, version)]
    else:
        found = prompts.list_prompt_versions(prompt_id).data
    rows = [
        (p.version, "yes" if p.is_default else "", ", ".join(p.variables), p.prompt or "")
        for p in found
    ]
    return Table(f"Prompt {prompt_id}", ["version", "default", "variables", "prompt"], rows)


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
