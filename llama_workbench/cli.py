"""The `llama-workbench` command line: stack run | list | list-apis | list-providers | show-config."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_workbench.core.errors import LlamaWorkbenchError, error_line


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _source(value: str) -> str | Path:
    """A distribution name or a path to a run config."""
    path = Path(value).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    from llama_workbench.distributions import distribution_path

    return distribution_path(value)


def cmd_list(args: argparse.Namespace) -> int:
    from llama_workbench.distributions import list_distributions

    rows = [(d.name, d.description) for d in list_distributions()]
    print(_table(rows, ("distribution", "description")))
    return 0


def cmd_list_apis(args: argparse.Namespace) -> int:
    from llama_workbench.core.api_table import API_DEFINITIONS, BUILTIN_PROTOCOLS

    rows = [
        (d.api.value, d.table_api.value if d.table_api else "") for d in API_DEFINITIONS.values()
    ]
    rows += [(api.value, "") for api in BUILTIN_PROTOCOLS]
    print(_table(rows, ("api", "registry api")))
    return 0


def cmd_list_providers(args: argparse.Namespace) -> int:
    from llama_workbench.core.datatypes import Api
    from llama_workbench.providers.registry import default_registry
    from llama_workbench.providers.utils.installed import distributions_installed

    registry = default_registry()
    api = None
    if args.api:
        try:
            api = Api(args.api)
        except ValueError:
            known = ", ".join(a.value for a in registry.apis())
            raise LlamaWorkbenchError(
                f"Unknown API '{args.api}'. APIs with providers: {known}"
            ) from None
    rows = [
        (
            s.api.value,
            s.provider_type,
            "yes"
            if distributions_installed(s.pip_packages)
            else f"pip install 'llama-workbench[{s.pip_extra}]'",
            s.description,
        )
        for s in registry.list(api)
    ]
    rows += [
        (a.value, name, "", f"Llama Stack's name of {ours}") for a, name, ours in _aliases(api)
    ]
    print(_table(rows, ("api", "provider_type", "installed", "description")))
    return 0


def _aliases(api: Any) -> list[tuple[Any, str, str]]:
    """(api, Llama Stack's name, our type) of the aliases whose provider is registered."""
    from llama_workbench.providers.llama_stack_names import ALIASES
    from llama_workbench.providers.registry import default_registry

    ours = {(s.api, s.provider_type) for s in default_registry().list(api)}
    return sorted((a, name, t) for (a, name), t in ALIASES.items() if (a, t) in ours)


def cmd_list_deps(args: argparse.Namespace) -> int:
    """The pip requirements of the providers a config names (Llama Stack's `list-deps`)."""
    from llama_workbench.providers.deps import config_requirements
    from llama_workbench.providers.utils.installed import PIP_NAMES

    requirements, notes = config_requirements(_source(args.config))
    for note in notes:
        print(f"# {note}", file=sys.stderr)
    for requirement in requirements:
        print(PIP_NAMES.get(requirement, requirement))
    return 0


def cmd_show_config(args: argparse.Namespace) -> int:
    path = _source(args.config)
    print(Path(path).read_text(encoding="utf-8"), end="")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from llama_workbench.server.runner import run_server

    run_server(_source(args.config), host=args.host, port=args.port)
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    import json

    from llama_workbench.core.stack import Stack
    from llama_workbench.server.app import create_app

    with Stack.from_config(_source(args.config)) as stack:
        text = json.dumps(create_app(stack).openapi(), indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def cmd_pipeline_run(args: argparse.Namespace) -> int:
    from llama_workbench.pipeline import parameter, run_notebooks

    params = {key: parameter(value) for key, value in args.parameter or []}
    for run in run_notebooks(args.notebooks, params, args.output, args.kernel):
        print(f"{run.notebook} -> {run.output} ({run.seconds:.1f} s)")
    return 0


def _pipeline_parser(commands: Any) -> None:
    pipeline = commands.add_parser(
        "pipeline",
        help="Run notebooks as pipelines (papermill).",
        description="Run notebooks as pipelines (papermill).",
    )
    sub = pipeline.add_subparsers(dest="pipeline_command", metavar="SUBCOMMAND", required=True)
    run = sub.add_parser(
        "run",
        help="Execute notebooks headless, in order; stop at the first failing cell.",
        description="Execute notebooks headless with papermill, each in its own folder, with "
        "the given parameters (their `parameters` cell is overridden); exit 1 and show the "
        "failing cell when one fails.",
    )
    run.add_argument("notebooks", nargs="+", help="Notebook paths (.ipynb), run in this order.")
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("KEY", "VALUE"),
        help="A parameter (repeatable); values are read as YAML (42, true, [a, b]).",
    )
    run.add_argument("-o", "--output", default="executed", help="Folder for executed notebooks.")
    run.add_argument("-k", "--kernel", help="Kernel name (default: the notebook's).")
    run.set_defaults(func=cmd_pipeline_run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llama-workbench",
        description="Build, inspect and run llama_workbench stacks (Llama Stack run configs).",
    )
    from llama_workbench.version import __version__

    parser.add_argument("--version", action="version", version=f"llama-workbench {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    stack = commands.add_parser(
        "stack",
        help="Stacks: run, list distributions, list APIs and providers.",
        description="Stacks: run, list distributions, list APIs and providers.",
    )
    sub = stack.add_subparsers(dest="stack_command", metavar="SUBCOMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="Build a stack from a distribution or run config and serve it.",
        description="Build a stack from a distribution name or a run config path.",
    )
    run.add_argument(
        "config", help="A distribution name (see `stack list`) or a path to a run config YAML."
    )
    run.add_argument(
        "--host", help="Interface to bind (default: the config's server.host, 127.0.0.1)."
    )
    run.add_argument("--port", type=int, help="Port (default: the config's server.port, 8321).")
    run.set_defaults(func=cmd_run)

    openapi = sub.add_parser(
        "openapi",
        help="Write the OpenAPI document of a stack's REST API.",
        description="Write the OpenAPI document (JSON) of the routes a stack serves.",
    )
    openapi.add_argument(
        "config", nargs="?", default="starter", help="A distribution name or run config path."
    )
    openapi.add_argument("-o", "--output", help="Write to this file instead of stdout.")
    openapi.set_defaults(func=cmd_openapi)

    sub.add_parser(
        "list",
        help="List the bundled distributions.",
        description="List the bundled distributions.",
    ).set_defaults(func=cmd_list)
    sub.add_parser(
        "list-apis",
        help="List the APIs this version provides.",
        description="List the APIs this version provides.",
    ).set_defaults(func=cmd_list_apis)
    providers = sub.add_parser(
        "list-providers",
        help="List provider types, optionally of one API.",
        description="List provider types, optionally of one API.",
    )
    providers.add_argument("api", nargs="?", help="Only this API (e.g. inference).")
    providers.set_defaults(func=cmd_list_providers)
    deps = sub.add_parser(
        "list-deps",
        help="Print the pip requirements of the providers a config uses.",
        description="Print the pip requirements of the providers a distribution or run config "
        "uses, one a line (pip install -r - reads them); whatever is disabled by its "
        "environment too, so that enabling it later needs no new install.",
    )
    deps.add_argument("config", help="A distribution name or a run config path.")
    deps.set_defaults(func=cmd_list_deps)
    show = sub.add_parser(
        "show-config",
        help="Print a distribution's run config.",
        description="Print a distribution's run config (a starting point for your own).",
    )
    show.add_argument("config", help="A distribution name or a run config path.")
    show.set_defaults(func=cmd_show_config)
    _pipeline_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `llama-workbench`; errors are one line on stderr and exit status 1."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except LlamaWorkbenchError as exc:
        print(f"llama-workbench: {error_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
