"""JSON response formats for local models: an instruction for the prompt and validators (of
JSON answers, and of strict functions' calls)."""

from __future__ import annotations

import json
import re
from typing import Any

from llama_workbench.apis.inference.models import (
    ResponseFormat,
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
    Tool,
    ToolCall,
)
from llama_workbench.core.errors import UnprocessableError

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def wants_json(fmt: ResponseFormat | None) -> bool:
    return isinstance(fmt, ResponseFormatJsonObject | ResponseFormatJsonSchema)


def json_instruction(fmt: ResponseFormat | None) -> str | None:
    """A system instruction asking for JSON (with the schema), or None for plain text."""
    if isinstance(fmt, ResponseFormatJsonSchema):
        schema = json.dumps(fmt.json_schema.schema_ or {})
        about = f" ({fmt.json_schema.description})" if fmt.json_schema.description else ""
        return f"Answer with only a JSON value{about} that conforms to this JSON schema:\n{schema}"
    if isinstance(fmt, ResponseFormatJsonObject):
        return "Answer with only a JSON object."
    return None


def check_json_output(text: str, fmt: ResponseFormat | None) -> str:
    """The output as JSON text (code fences removed) if it conforms to `fmt`, else a 422 error."""
    if not wants_json(fmt):
        return text
    body = text.strip()
    fenced = _FENCE.match(body)
    body = fenced.group(1) if fenced else body
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise _invalid(f"the output is not valid JSON ({exc})", text) from exc
    if isinstance(fmt, ResponseFormatJsonObject) and not isinstance(value, dict):
        raise _invalid("the output is JSON but not an object", text)
    if isinstance(fmt, ResponseFormatJsonSchema) and fmt.json_schema.schema_:
        problem = _schema_problem(value, fmt.json_schema.schema_)
        if problem:
            raise _invalid(f"the output does not match the schema: {problem}", text)
    return body


def check_strict_calls(calls: list[ToolCall], tools: list[Tool]) -> None:
    """A call of a `strict` function must match its parameters schema (OpenAI guarantees it;
    a model here can't, so a call that misses it is an error, never passed on)."""
    strict = {t.function.name: t.function.parameters for t in tools if t.function.strict}
    for call in calls:
        schema = strict.get(call.function.name)
        if schema is None:
            continue
        problem = _schema_problem(json.loads(call.function.arguments), schema)
        if problem:
            raise UnprocessableError(
                f"The model's call of strict function '{call.function.name}' does not match its "
                f"parameters: {problem}. Arguments: {call.function.arguments!r}",
                details={"arguments": call.function.arguments},
            )


def _invalid(reason: str, text: str) -> UnprocessableError:
    shown = text if len(text) <= 300 else text[:300] + "..."
    return UnprocessableError(
        f"The model's output does not conform to the requested response_format: {reason}. "
        f"Output: {shown!r}",
        details={"output": text},
    )


def _schema_problem(value: Any, schema: dict[str, Any]) -> str | None:
    try:
        import jsonschema
    except ImportError:
        return _minimal_problem(value, schema, "$")
    try:
        jsonschema.validate(value, schema)
    except jsonschema.SchemaError as exc:
        return f"the schema itself is invalid: {exc.message}"
    except jsonschema.ValidationError as exc:
        where = "$" + "".join(f"[{p!r}]" for p in exc.absolute_path)
        return f"{where}: {exc.message}"
    return None


def _minimal_problem(value: Any, schema: dict[str, Any], where: str) -> str | None:
    """Types, required keys and properties only: what can be checked without jsonschema."""
    expected = schema.get("type")
    kinds = [expected] if isinstance(expected, str) else list(expected or [])
    if kinds and not any(_is_type(value, k) for k in kinds):
        return f"{where}: expected {' or '.join(kinds)}, got {type(value).__name__}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: {value!r} is not one of {schema['enum']!r}"
    if isinstance(value, dict):
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            return f"{where}: missing required keys {missing}"
        for key, sub in (schema.get("properties") or {}).items():
            if key in value and isinstance(sub, dict):
                problem = _minimal_problem(value[key], sub, f"{where}[{key!r}]")
                if problem:
                    return problem
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problem = _minimal_problem(item, schema["items"], f"{where}[{i}]")
            if problem:
                return problem
    return None


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    python_type = _TYPES.get(kind)
    return python_type is None or isinstance(value, python_type)
