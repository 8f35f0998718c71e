"""Agent tool entries -> Responses tools: functions, builtin::rag, builtin::websearch,
mcp::<label>, tool dicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from llama_workbench.agents.tools import FunctionTool, tool
from llama_workbench.apis.responses.models import ResponseTool
from llama_workbench.core.errors import BadRequestError

_TOOL = TypeAdapter(ResponseTool)
_RAG_NAMES = ("builtin::rag", "builtin::rag/knowledge_search")
_WEB_SEARCH_NAMES = ("builtin::websearch", "builtin::websearch/web_search")


def store_ids(tools: list[dict[str, Any]]) -> list[str]:
    return [i for t in tools if t["type"] == "file_search" for i in t["vector_store_ids"]]


def resolve_tools(entries: Sequence[Any]) -> tuple[list[dict[str, Any]], dict[str, FunctionTool]]:
    """Responses tools for the requests, and the Python functions the agent runs by name."""
    if isinstance(entries, str | Mapping) or not isinstance(entries, Sequence):
        raise BadRequestError("tools: give a list of tools.")
    specs: list[dict[str, Any]] = []
    functions: dict[str, FunctionTool] = {}
    for index, entry in enumerate(entries):
        spec, function = _one_tool(f"tools[{index}]", entry)
        if function is not None:
            if function.name in functions:
                raise BadRequestError(f"tools: two functions are named '{function.name}'.")
            functions[function.name] = function
        specs.append(spec)
    return specs, functions


def _one_tool(where: str, entry: Any) -> tuple[dict[str, Any], FunctionTool | None]:
    if isinstance(entry, FunctionTool):
        return entry.to_openai(), entry
    if isinstance(entry, str):
        if entry.startswith("mcp::") and entry[5:]:
            return _checked(where, {"type": "mcp", "server_label": entry[5:]}), None
        if entry in _WEB_SEARCH_NAMES:
            return _checked(where, {"type": "web_search"}), None
        if entry in _RAG_NAMES:
            raise BadRequestError(
                f"{where}: '{entry}' needs vector stores: give "
                "{'name': 'builtin::rag', 'args': {'vector_store_ids': [...]}}."
            )
        raise BadRequestError(
            f"{where}: unknown tool {entry!r}; tool strings are 'mcp::<server label>' and "
            "'builtin::websearch'."
        )
    if isinstance(entry, Mapping):
        if entry.get("name") in _RAG_NAMES and "type" not in entry:
            return _checked(where, _rag_tool(where, entry.get("args") or {})), None
        if "type" in entry:
            return _checked(where, dict(entry)), None
        raise BadRequestError(
            f"{where}: {dict(entry)!r} is neither a Responses tool (it has no 'type') nor "
            "{'name': 'builtin::rag', 'args': {...}}."
        )
    if callable(entry):
        try:
            function = tool(entry)
        except (TypeError, ValueError) as exc:
            raise BadRequestError(f"{where}: {exc}") from None
        return function.to_openai(), function
    raise BadRequestError(
        f"{where}: {entry!r} ({type(entry).__name__}) is not a tool; give a function, a @tool, "
        "'mcp::<label>', {'name': 'builtin::rag', 'args': {...}} or a Responses tool dict."
    )


def _rag_tool(where: str, args: Mapping[str, Any]) -> dict[str, Any]:
    ids = args.get("vector_store_ids") or args.get("vector_db_ids")
    if isinstance(ids, str):
        ids = [ids]
    if not ids:
        raise BadRequestError(f"{where}: builtin::rag needs args={{'vector_store_ids': [...]}}.")
    spec: dict[str, Any] = {"type": "file_search", "vector_store_ids": list(ids)}
    if args.get("max_num_results") is not None:
        spec["max_num_results"] = args["max_num_results"]
    return spec


def _checked(where: str, spec: dict[str, Any]) -> dict[str, Any]:
    try:
        checked = _TOOL.validate_python(spec)
    except ValidationError as exc:
        raise BadRequestError(
            f"{where}: invalid tool {spec!r}: {validation_summary(exc)}"
        ) from None
    result: dict[str, Any] = checked.model_dump(mode="json", exclude_none=True)
    return result


def validation_summary(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(value)'}: {e['msg']}" for e in exc.errors()
    )
