"""The Conversations routes over HTTP: Llama Stack 0.7.3's paths and shapes, errors, the openai SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai
import pytest
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from llama_workbench.apis.conversations.routes import create_router
from llama_workbench.core.conversations import ConversationsStore
from llama_workbench.core.errors import LlamaWorkbenchError
from llama_workbench.server.app import _error, _http_error, _validation_error
from llama_workbench.storage.config import SqlStoreRef, StorageConfig
from llama_workbench.storage.manager import StorageManager

ROUTES_TXT = Path(__file__).parents[2] / "data" / "reference" / "llama-stack-0.7.3-routes.txt"

# Property names (and the required ones) of the reference's /openapi.json schemas.
SHAPES: dict[str, tuple[set[str], set[str]]] = {
    "Conversation": ({"id", "object", "created_at", "metadata", "items"}, {"id", "created_at"}),
    "ConversationItemList": ({"object", "data", "first_id", "last_id", "has_more"}, {"data"}),
    "ConversationDeletedResource": ({"id", "object", "deleted"}, {"id"}),
    "ConversationItemDeletedResource": ({"id", "object", "deleted"}, {"id"}),
}
USER = {"type": "message", "role": "user", "content": "What is a kelp forest?"}


def _shaped(body: dict[str, Any], schema: str) -> dict[str, Any]:
    properties, required = SHAPES[schema]
    assert required <= set(body) <= properties, (schema, sorted(body))
    return body


def _app(store: ConversationsStore) -> FastAPI:
    app = FastAPI()
    app.include_router(create_router(store))
    app.add_exception_handler(LlamaWorkbenchError, _error)
    app.add_exception_handler(Exception, _error)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    return app


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    storage = StorageManager(StorageConfig(), tmp_path)
    yield _app(ConversationsStore(storage, SqlStoreRef(backend="sql_default", table_name="conv")))
    await storage.close()


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def test_paths_methods_and_summaries_match_the_reference(app: FastAPI) -> None:
    wanted = set()
    for line in ROUTES_TXT.read_text().splitlines():
        if line.startswith("#") or "/v1/conversations" not in line:
            continue
        method_path, _, rest = line.partition(" | ")
        method, path = method_path.split()
        wanted.add((method, path, rest.split(" | ")[2]))
    paths = app.openapi()["paths"]
    served = {
        (method.upper(), path, operation["summary"])
        for path, operations in paths.items()
        for method, operation in operations.items()
    }
    assert len(wanted) == 8 and served == wanted


async def test_a_conversation_from_start_to_end(http: httpx.AsyncClient) -> None:
    made = await http.post("/v1/conversations", json={"items": [USER], "metadata": {"k": "v"}})
    assert made.status_code == 200
    conversation = _shaped(made.json(), "Conversation")
    assert conversation["object"] == "conversation" and conversation["metadata"] == {"k": "v"}
    one = f"/v1/conversations/{conversation['id']}"
    assert _shaped((await http.get(one)).json(), "Conversation") == conversation
    updated = _shaped((await http.post(one, json={"metadata": {"k": "w"}})).json(), "Conversation")
    assert updated["metadata"] == {"k": "w"}
    call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    added = (await http.post(f"{one}/items", json={"items": [call]})).json()
    _shaped(added, "ConversationItemList")
    assert added["data"][0]["id"].startswith("fc_") and added["first_id"] == added["last_id"]
    listed = await http.get(f"{one}/items", params={"limit": 1, "order": "asc"})
    page = _shaped(listed.json(), "ConversationItemList")
    assert page["object"] == "list" and page["has_more"] is True
    assert page["data"][0]["content"] == USER["content"] and page["data"][0]["id"].startswith(
        "msg_"
    )
    included = await http.get(
        f"{one}/items",
        params=[
            ("include", "file_search_call.results"),
            ("include", "message.output_text.logprobs"),
        ],
    )
    assert [item["type"] for item in included.json()["data"]] == ["function_call", "message"]
    item = f"{one}/items/{added['last_id']}"
    assert (await http.get(item)).json() == added["data"][0]
    gone = _shaped((await http.delete(item)).json(), "ConversationItemDeletedResource")
    assert gone == {"id": added["last_id"], "object": "conversation.item.deleted", "deleted": True}
    deleted = _shaped((await http.delete(one)).json(), "ConversationDeletedResource")
    assert deleted == {"id": conversation["id"], "object": "conversation.deleted", "deleted": True}


async def test_an_empty_create_body_makes_an_empty_conversation(http: httpx.AsyncClient) -> None:
    made = _shaped((await http.post("/v1/conversations", json={})).json(), "Conversation")
    page = (await http.get(f"/v1/conversations/{made['id']}/items")).json()
    assert page == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


async def test_unknown_ids_are_404_in_our_error_shape(http: httpx.AsyncClient) -> None:
    made = (await http.post("/v1/conversations", json={})).json()
    missing = "conv_" + "0" * 48
    for method, path in [
        ("GET", f"/v1/conversations/{missing}"),
        ("POST", f"/v1/conversations/{missing}"),
        ("DELETE", f"/v1/conversations/{missing}"),
        ("GET", f"/v1/conversations/{missing}/items"),
        ("GET", f"/v1/conversations/{made['id']}/items/msg_nope"),
        ("DELETE", f"/v1/conversations/{made['id']}/items/msg_nope"),
        ("GET", f"/v1/conversations/{made['id']}/items?after=msg_nope"),
    ]:
        body: dict[str, Any] | None = {"metadata": {}} if method == "POST" else None
        answer = await http.request(method, path, json=body)
        assert answer.status_code == 404, (method, path)
        error = answer.json()["error"]
        assert error["type"] == "not_found" and "' not found" in error["message"]
    item = await http.get(f"/v1/conversations/{made['id']}/items/msg_nope")
    assert item.json()["error"]["message"].startswith(
        f"Conversation item 'msg_nope' not found in conversation '{made['id']}'."
    )


async def test_malformed_ids_are_400(http: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/v1/conversations/conv_nope"),
        ("POST", "/v1/conversations/invalid_id"),
        ("DELETE", "/v1/conversations/conv_nope"),
        ("GET", "/v1/conversations/conv_nope/items"),
        ("GET", "/v1/conversations/conv_nope/items/msg_1"),
    ]:
        body: dict[str, Any] | None = {"metadata": {}} if method == "POST" else None
        answer = await http.request(method, path, json=body)
        assert answer.status_code == 400, (method, path)
        error = answer.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert "Invalid value for 'conversation_id'" in error["message"]


@pytest.mark.parametrize(
    ("method", "suffix", "body", "field"),
    [
        ("POST", "/items", {"items": [USER] * 21}, "items"),
        ("POST", "/items", {"items": []}, "items"),
        ("POST", "/items", {"items": [{"type": "telepathy"}]}, "items"),
        ("POST", "/items", {}, "items"),
        ("POST", "", {}, "metadata"),
        ("POST", "", {"metadata": {"k": 1}}, "metadata"),
        ("POST", "", {"metadata": {f"k{i}": "v" for i in range(17)}}, "16"),
        ("GET", "/items?limit=0", None, "limit"),
        ("GET", "/items?limit=101", None, "limit"),
        ("GET", "/items?order=sideways", None, "order"),
        ("GET", "/items?include=bogus", None, "include"),
    ],
)
async def test_bad_requests_are_rejected(
    http: httpx.AsyncClient, method: str, suffix: str, body: Any, field: str
) -> None:
    # Llama Stack and OpenAI answer every invalid request with a 400 (never a 422),
    # naming the field.
    made = (await http.post("/v1/conversations", json={})).json()
    answer = await http.request(method, f"/v1/conversations/{made['id']}{suffix}", json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error" and field in error["message"]


async def test_create_rejects_too_many_items_and_taken_ids(http: httpx.AsyncClient) -> None:
    too_many = await http.post("/v1/conversations", json={"items": [USER] * 21})
    assert too_many.status_code == 400 and "20" in too_many.json()["error"]["message"]
    given = {**USER, "id": "msg_1"}
    made = (await http.post("/v1/conversations", json={"items": [given]})).json()
    taken = await http.post(f"/v1/conversations/{made['id']}/items", json={"items": [given]})
    assert taken.status_code == 409 and "msg_1" in taken.json()["error"]["message"]


async def test_the_openai_sdk_drives_the_routes(app: FastAPI) -> None:
    # openai's SDK runs on httpx2 (its own fork of httpx), so its client comes from there.
    transport = httpx2.ASGITransport(app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://test/v1") as http:
        client = openai.AsyncOpenAI(api_key="none", base_url="http://test/v1", http_client=http)
        made = await client.conversations.create(items=[USER], metadata={"topic": "kelp"})  # type: ignore[list-item]
        assert made.metadata == {"topic": "kelp"}
        await client.conversations.items.create(
            made.id, items=[{"type": "message", "role": "assistant", "content": "Seaweed."}]
        )
        page = await client.conversations.items.list(made.id, order="asc", limit=1)
        assert [item.type for item in page.data] == ["message"] and page.has_more
        every = [item async for item in client.conversations.items.list(made.id, limit=1)]
        assert [getattr(item, "role", None) for item in every] == ["assistant", "user"]
        first = await client.conversations.items.retrieve(
            every[1].id or "", conversation_id=made.id
        )
        assert first.id == every[1].id
        with pytest.raises(openai.NotFoundError):
            await client.conversations.retrieve("conv_" + "0" * 48)
        with pytest.raises(openai.BadRequestError, match="conversation_id"):
            await client.conversations.retrieve("conv_nope")
        assert (await client.conversations.delete(made.id)).deleted
