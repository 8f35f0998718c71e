"""`@tool`: JSON schemas from signatures and docstrings, validated calls, decoration errors."""

from __future__ import annotations

import threading
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from llama_workbench.agents import FunctionTool, tool
from llama_workbench.core.errors import BadRequestError


class Address(BaseModel):
    street: str
    zip_code: int | None = None


@tool
def get_weather(city: str, unit: Literal["c", "f"] = "c", days: int | None = None) -> dict:
    """Get the weather forecast of a city.

    The forecast comes from a made-up service.

    Args:
        city (str): The city's name,
            in English.
        unit: Temperature unit.
        days: How many days ahead (today when omitted).

    Returns:
        dict: The forecast.
    """
    return {"city": city, "unit": unit, "days": days}


@tool(name="sum_numbers", description="Add up numbers.")
async def add_all(numbers: list[int], start: int = 0) -> int:
    """Sum.

    :param numbers: The numbers to add.
    :param int start: Where the sum
        starts.
    :returns: The sum.
    """
    return start + sum(numbers)


@tool
def ship(address: Address, express: bool = False) -> str:
    """Ship to an address."""
    return f"{address.street} ({address.zip_code}) express={express}"


@tool
def whoami() -> str:
    return threading.current_thread().name


def test_schema_from_signature_and_google_docstring() -> None:
    assert isinstance(get_weather, FunctionTool)
    assert get_weather.to_openai() == {
        "type": "function",
        "name": "get_weather",
        "description": "Get the weather forecast of a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city's name, in English."},
                "unit": {
                    "type": "string",
                    "enum": ["c", "f"],
                    "default": "c",
                    "description": "Temperature unit.",
                },
                "days": {
                    "anyOf": [{"type": "integer"}, {"type": "null"}],
                    "default": None,
                    "description": "How many days ahead (today when omitted).",
                },
            },
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": None,
    }


def test_schema_with_rest_docstring_name_and_description() -> None:
    assert (add_all.name, add_all.description) == ("sum_numbers", "Add up numbers.")
    assert add_all.parameters == {
        "type": "object",
        "properties": {
            "numbers": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "The numbers to add.",
            },
            "start": {"type": "integer", "default": 0, "description": "Where the sum starts."},
        },
        "required": ["numbers"],
        "additionalProperties": False,
    }


def test_schema_with_a_model_parameter_and_no_parameters() -> None:
    assert ship.parameters == {
        "type": "object",
        "properties": {
            "address": {"$ref": "#/$defs/Address"},
            "express": {"type": "boolean", "default": False},
        },
        "required": ["address"],
        "additionalProperties": False,
        "$defs": {
            "Address": {
                "type": "object",
                "properties": {
                    "street": {"type": "string"},
                    "zip_code": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
                },
                "required": ["street"],
            }
        },
    }
    assert whoami.parameters == {"type": "object", "properties": {}, "additionalProperties": False}
    assert whoami.description == ""


async def test_ainvoke_validates_json_and_dumps_results() -> None:
    out = await get_weather.ainvoke('{"city": "Paris", "days": "2"}')
    assert out == '{"city": "Paris", "unit": "c", "days": 2}'
    assert await get_weather.ainvoke({"city": "Oslo", "unit": "f"}) == (
        '{"city": "Oslo", "unit": "f", "days": null}'
    )
    assert await ship.ainvoke({"address": {"street": "1 Main St", "zip_code": 10}}) == (
        "1 Main St (10) express=False"  # a str result comes back as is
    )


async def test_async_and_sync_functions() -> None:
    assert await add_all.ainvoke('{"numbers": [1, 2, 3], "start": 10}') == "16"
    # Sync functions run in a worker thread, never on the event loop's thread.
    assert await whoami.ainvoke("") != threading.current_thread().name
    assert await whoami.ainvoke("{}") != threading.current_thread().name


def test_call_runs_the_plain_function() -> None:
    assert get_weather("Rome") == {"city": "Rome", "unit": "c", "days": None}
    assert get_weather.__name__ == "get_weather" and get_weather.__doc__ is not None


@pytest.mark.parametrize(
    ("arguments", "fields", "fragment"),
    [
        ('{"unit": "c"}', ["city"], "city: Field required"),
        ({"city": "Paris", "unit": "k"}, ["unit"], "unit: Input should be 'c' or 'f'"),
        ({"city": "Paris", "days": "soon"}, ["days"], "days: Input should be a valid integer"),
        (
            {"city": "Paris", "country": "FR"},
            ["country"],
            "country: Extra inputs are not permitted",
        ),
    ],
)
async def test_validation_errors_name_the_tool_and_field(
    arguments: Any, fields: list[str], fragment: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await get_weather.ainvoke(arguments)
    assert str(caught.value).startswith("Invalid arguments for tool 'get_weather': ")
    assert fragment in str(caught.value)
    assert caught.value.details == {"tool": "get_weather", "fields": fields}


async def test_nested_field_errors_and_malformed_arguments() -> None:
    with pytest.raises(BadRequestError, match=r"address\.street: Field required"):
        await ship.ainvoke({"address": {"zip_code": 1}})
    with pytest.raises(BadRequestError, match="'get_weather': the arguments are not valid JSON"):
        await get_weather.ainvoke('{"city": ')
    with pytest.raises(BadRequestError, match="must be a JSON object, got list"):
        await get_weather.ainvoke("[1, 2]")


def test_positional_only_parameters() -> None:
    @tool
    def power(base: int, exponent: int = 2, /) -> int:
        return int(base**exponent)

    assert power.parameters["required"] == ["base"]
    assert power(3) == 9


async def test_positional_only_parameters_are_passed_positionally() -> None:
    @tool
    def power(base: int, exponent: int = 2, /) -> int:
        return int(base**exponent)

    assert await power.ainvoke({"base": 2, "exponent": 5}) == "32"


def test_errors_at_decoration_time() -> None:
    def star_args(*cities: str) -> str:
        return ""

    def star_kwargs(city: str, **options: Any) -> str:
        return ""

    def unannotated(city) -> str:
        return str(city)

    with pytest.raises(TypeError, match=r"Tool 'star_args': \*cities can't be described"):
        tool(star_args)
    with pytest.raises(TypeError, match=r"Tool 'star_kwargs': \*\*options can't be described"):
        tool(star_kwargs)
    with pytest.raises(TypeError, match="Tool 'unannotated': parameter 'city' needs a type"):
        tool(unannotated)
    with pytest.raises(ValueError, match="Tool name 'no spaces' must be 1-64 letters"):
        tool(name="no spaces")(whoami.fn)
    with pytest.raises(TypeError, match="@tool needs a function"):
        tool(42)  # type: ignore[call-overload]
