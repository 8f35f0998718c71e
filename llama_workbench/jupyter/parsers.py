"""The parsers of the `%llama` subcommands that commands.py runs, each with its texts and --help."""

from __future__ import annotations

from llama_workbench.jupyter.parsing import MagicParser, positive_int, temperature

FORMATS = ("markdown", "text", "json", "code")


def chat_parser() -> MagicParser:
    summary = "Chat with a model; streams the answer, keeps the notebook's history."
    p = MagicParser(
        prog="%llama chat",
        summary=summary,
        description=summary + " {var}, {In[n]}, {Out[n]} and {Err[n]} in the prompt are filled "
        "in from the notebook.",
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
    p = MagicParser(
        prog="%llama config",
        summary="Show the stack in use, or switch to a run config path or distribution.",
    )
    p.add_argument("source", nargs="?", help="A run config .yaml path or a distribution name.")
    return p


def rag_parser() -> MagicParser:
    p = MagicParser(
        prog="%llama rag",
        summary="Index documents into a vector store (ingest) and ask questions with citations "
        "(ask).",
    )
    p.add_argument("action", choices=["ingest", "ask", "stores"])
    p.add_argument("args", nargs="*", help="ingest: files or globs; ask: the question.")
    p.add_argument("--store", help="Vector store name (created by ingest if new).")
    p.add_argument("--mode", choices=["vector", "keyword", "hybrid"], default="hybrid")
    p.add_argument("--top-k", "-k", type=positive_int, default=5, help="Chunks to retrieve.")
    p.add_argument("--model", "-m", help="ask: the model that answers (default: the first).")
    p.add_argument("--no-answer", action="store_true", help="ask: only show the chunks.")
    return p


def shield_parser() -> MagicParser:
    p = MagicParser(prog="%llama shield", summary="Check a text with a shield.")
    p.add_argument("shield_id", help="A shield id (%%llama status lists them).")
    p.add_argument("text", nargs="*", help="The text (or the body of a %%%%llama shield cell).")
    p.add_argument("--role", default="user", choices=["user", "assistant"], help="Whose text.")
    return p


def history_parser() -> MagicParser:
    return MagicParser(prog="%llama history", summary="Show the chat history of this notebook.")


def reset_parser() -> MagicParser:
    return MagicParser(prog="%llama reset", summary="Forget the chat history.")


def models_parser() -> MagicParser:
    return MagicParser(prog="%llama models", summary="List the models the stack serves.")


def status_parser() -> MagicParser:
    return MagicParser(
        prog="%llama status",
        summary="The stack: APIs, providers, models, shields, vector stores.",
    )


def stack_parser() -> MagicParser:
    return MagicParser(
        prog="%llama stack",
        summary="The kernel's Stack object, for Python calls: `stack = %llama stack`.",
    )


def widget_parser() -> MagicParser:
    p = MagicParser(
        prog="%llama widget",
        summary="Open a dashboard: chat, rag, safety, inspector (the stack), eval, finetune.",
    )
    p.add_argument("name", choices=["chat", "rag", "safety", "inspector", "eval", "finetune"])
    p.add_argument("--model", "-m", help="chat: the model to start with.")
    p.add_argument("--job", "-j", help="finetune: the job to follow (default: the latest).")
    return p
