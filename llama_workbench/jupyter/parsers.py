"""The `%llama` command line: one parser per subcommand, each with its --help."""

from __future__ import annotations

import argparse

from llama_workbench.jupyter.parsing import MagicParser, positive_int, temperature

SUBCOMMANDS = {
    "chat": "Chat with a model; streams the answer, keeps the notebook's history.",
    "history": "Show the chat history of this notebook.",
    "reset": "Forget the chat history.",
    "models": "List the models the stack serves.",
    "status": "The stack: APIs, providers, models, shields, vector stores.",
    "stack": "The kernel's Stack object, for Python calls: `stack = %llama stack`.",
    "config": "Show the stack in use, or switch to a run config path or distribution.",
    "rag": "Index documents into a vector store (ingest) and ask questions with citations (ask).",
    "shield": "Check a text with a shield.",
    "agent": "Agent sessions: new (tools, shields), ask (a turn, steps shown), sessions, resume, history.",
    "eval": "Run a benchmark (progress, a DataFrame, the MLflow run); benchmarks, jobs, resume.",
    "batch": "Run a DataFrame of requests as a batch (progress, a DataFrame of results); list.",
    "finetune": "Fine-tune a model on rows (LoRA): progress, loss curve, the new model; jobs.",
    "prompt": "Prompt templates with {{variables}}: create, list, show, render, set-default, delete.",
    "trace": "The last traces of the stack's calls (span trees, latency, tokens) and metrics.",
    "widget": "Open a dashboard: chat, rag, safety, inspector (the stack), eval, finetune.",
}
FORMATS = ("markdown", "text", "json", "code")


def top_parser() -> MagicParser:
    lines = [f"  {name:<8} {text}" for name, text in SUBCOMMANDS.items()]
    parser = MagicParser(
        prog="%llama",
        description="The stack from the notebook. Subcommands:\n" + "\n".join(lines),
        epilog="`%llama <subcommand> --help` for each. As a cell magic (%%llama chat ...), the "
        "cell's body is the prompt or text.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=True,
    )
    parser.add_argument("subcommand", nargs="?", choices=list(SUBCOMMANDS))
    return parser


def chat_parser() -> MagicParser:
    p = MagicParser(
        prog="%llama chat",
        description=SUBCOMMANDS["chat"] + " {var}, {In[n]}, "
        "{Out[n]} and {Err[n]} in the prompt are filled in from the notebook.",
    )
    p.add_argument("--model", "-m", help="Model id (default: the first chat model).")
    p.add_argument("--system", "-s", help="System prompt for this call.")
    p.add_argument("--temperature", "-t", type=temperature, help="0..2 (default: the model's).")
    p.add_argument("--max-tokens", "-n", type=positive_int, default=512, help="Answer length cap.")
    p.add_argument(
        "--shield",
        action="append",
        default=[],
        help="Check the prompt and the answer "
        "with this shield (repeatable); a violation stops the call.",
    )
    p.add_argument(
        "--format",
        "-f",
        choices=FORMATS,
        default=None,
        help="markdown (rendered), text, json (parsed into a Python value), code "
        "(the code goes into the next cell).",
    )
    p.add_argument("--no-history", action="store_true", help="Neither use nor extend the history.")
    p.add_argument("--out", "-o", help="Also store the answer in this variable.")
    return p


def config_parser() -> MagicParser:
    p = MagicParser(prog="%llama config", description=SUBCOMMANDS["config"])
    p.add_argument("source", nargs="?", help="A run config .yaml path or a distribution name.")
    return p


def rag_parser() -> MagicParser:
    p = MagicParser(prog="%llama rag", description=SUBCOMMANDS["rag"])
    p.add_argument("action", choices=["ingest", "ask", "stores"])
    p.add_argument("args", nargs="*", help="ingest: files or globs; ask: the question.")
    p.add_argument("--store", help="Vector store name (created by ingest if new).")
    p.add_argument("--mode", choices=["vector", "keyword", "hybrid"], default="hybrid")
    p.add_argument("--top-k", "-k", type=positive_int, default=5, help="Chunks to retrieve.")
    p.add_argument("--model", "-m", help="ask: the model that answers (default: the first).")
    p.add_argument("--no-answer", action="store_true", help="ask: only show the chunks.")
    return p


def shield_parser() -> MagicParser:
    p = MagicParser(prog="%llama shield", description=SUBCOMMANDS["shield"])
    p.add_argument("shield_id", help="A shield id (%%llama status lists them).")
    p.add_argument("text", nargs="*", help="The text (or the body of a %%%%llama shield cell).")
    p.add_argument("--role", default="user", choices=["user", "assistant"], help="Whose text.")
    return p


def simple_parser(name: str) -> MagicParser:
    return MagicParser(prog=f"%llama {name}", description=SUBCOMMANDS[name])


def widget_parser() -> MagicParser:
    p = MagicParser(prog="%llama widget", description=SUBCOMMANDS["widget"])
    p.add_argument("name", choices=["chat", "rag", "safety", "inspector", "eval", "finetune"])
    p.add_argument("--model", "-m", help="chat: the model to start with.")
    p.add_argument("--job", "-j", help="finetune: the job to follow (default: the latest).")
    return p
