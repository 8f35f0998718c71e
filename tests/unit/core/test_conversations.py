"""ConversationsStore on a real SQLite store: items, ordering, cursors, limits, owners, restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.apis.conversations.api import Conversations
from llama_workbench.apis.responses.models import (
    FunctionCallItem,
    FunctionCallOutputItem,
    Item,
    McpCallItem,
    MessageItem,
)
from llama_workbench.core.access import Principal, current_principal
from llama_workbench.core.conversations import CONVERSATION_ID, ConversationsStore
from llama_workbench.core.errors import BadRequestError, ConflictError, NotFoundError
from llama_workbench.storage.config import SqlStoreRef, StorageConfig
from llama_workbench.storage.manager import StorageManager

REF = SqlStoreRef(backend="sql_default", table_name="conversations")


def _message(text: str, item_id: str | None = None) -> MessageItem:
    return MessageItem(id=item_id, role="user", content=text)


def _texts(items: list[Item]) -> list[Any]:
    return [item.content for item in items if isinstance(item, MessageItem)]


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[StorageManager]:
    manager = StorageManager(StorageConfig(), tmp_path)
    yield manager
    await manager.close()


@pytest.fixture
def store(storage: StorageManager) -> ConversationsStore:
    return ConversationsStore(storage, REF)


def _as(name: str, *roles: str) -> None:
    current_principal.set(Principal(name, frozenset(roles)))


async def _with_messages(store: ConversationsStore, count: int) -> str:
    conversation = await store.create_conversation()
    for i in range(count):
        await store.create_items(conversation.id, [_message(f"m{i}")])
    return conversation.id


def test_the_store_implements_the_protocol(store: ConversationsStore) -> None:
    assert isinstance(store, Conversations)


async def test_create_with_items_gives_ids_and_keeps_given_ones(store: ConversationsStore) -> None:
    items: list[Item] = [
        _message("hi"),
        FunctionCallItem(call_id="c1", name="weather", arguments="{}"),
        FunctionCallOutputItem(call_id="c1", output="sunny"),
        McpCallItem(id="mcp_1", name="add", arguments="{}", server_label="calc", output="3"),
        _message("kept", "msg_given"),
    ]
    made = await store.create_conversation(items, {"topic": "weather"})
    assert made.id.startswith("conv_") and made.object == "conversation"
    assert made.metadata == {"topic": "weather"} and made.created_at > 0
    assert await store.retrieve_conversation(made.id) == made
    stored = await store.all_items(made.id)
    ids = [item.id or "" for item in stored]
    assert [i.split("_")[0] for i in ids[:3]] == ["msg", "fc", "fco"]
    assert ids[3:] == ["mcp_1", "msg_given"]
    assert [item.type for item in stored] == [item.type for item in items]
    assert items[0].id is None  # the caller's objects are not changed
    assert isinstance(stored[2], FunctionCallOutputItem) and stored[2].output == "sunny"


async def test_create_without_anything_and_items_given_as_dicts(store: ConversationsStore) -> None:
    empty = await store.create_conversation()
    assert empty.metadata == {} and await store.all_items(empty.id) == []
    page = await store.list_items(empty.id)
    assert (page.data, page.first_id, page.last_id, page.has_more) == ([], None, None, False)
    raw: Any = [{"type": "message", "role": "user", "content": "from a dict"}]
    made = await store.create_conversation(raw)
    assert _texts(await store.all_items(made.id)) == ["from a dict"]
    with pytest.raises(BadRequestError, match="Invalid conversation items"):
        await store.create_conversation([{"type": "message", "role": "robot", "content": "x"}])  # type: ignore[list-item]


async def test_update_replaces_metadata(store: ConversationsStore) -> None:
    made = await store.create_conversation(metadata={"a": "1", "b": "2"})
    updated = await store.update_conversation(made.id, {"c": "3"})
    assert updated.metadata == {"c": "3"} and updated.created_at == made.created_at
    assert await store.retrieve_conversation(made.id) == updated


async def test_delete_removes_the_conversation_and_its_items(
    store: ConversationsStore, storage: StorageManager
) -> None:
    kept = await store.create_conversation([_message("stays")])
    gone = await store.create_conversation([_message("a"), _message("b")])
    deleted = await store.delete_conversation(gone.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (gone.id, "conversation.deleted", True)
    with pytest.raises(NotFoundError, match=gone.id):
        await store.retrieve_conversation(gone.id)
    with pytest.raises(NotFoundError):
        await store.delete_conversation(gone.id)
    rows = (await (await storage.sql(REF)).fetch_all("conversations_items")).data
    assert {row["conversation_id"] for row in rows} == {kept.id}


async def test_create_items_appends_and_rejects_taken_ids(store: ConversationsStore) -> None:
    made = await store.create_conversation([_message("first", "msg_1")])
    added = await store.create_items(made.id, [_message("second"), _message("third", "msg_3")])
    assert added.object == "list" and _texts(added.data) == ["second", "third"]
    assert added.first_id == added.data[0].id and added.last_id == "msg_3"
    assert not added.has_more
    with pytest.raises(ConflictError, match="msg_1"):
        await store.create_items(made.id, [_message("new"), _message("again", "msg_1")])
    with pytest.raises(ConflictError, match="repeated: msg_9"):
        await store.create_items(made.id, [_message("x", "msg_9"), _message("y", "msg_9")])
    with pytest.raises(BadRequestError, match="at least one"):
        await store.create_items(made.id, [])
    # A failed call adds nothing, not even the items before the clash.
    assert _texts(await store.all_items(made.id)) == ["first", "second", "third"]
    other = await store.create_conversation([_message("same id, other conversation", "msg_1")])
    assert (await store.retrieve_item(other.id, "msg_1")) != (
        await store.retrieve_item(made.id, "msg_1")
    )


async def test_list_items_order_limit_and_cursor(store: ConversationsStore) -> None:
    conversation_id = await _with_messages(store, 5)
    newest_first = await store.list_items(conversation_id)
    assert _texts(newest_first.data) == ["m4", "m3", "m2", "m1", "m0"]
    assert not newest_first.has_more
    oldest_first = await store.list_items(conversation_id, order="asc")
    assert _texts(oldest_first.data) == ["m0", "m1", "m2", "m3", "m4"]
    first = await store.list_items(conversation_id, limit=2, order="asc")
    assert _texts(first.data) == ["m0", "m1"] and first.has_more
    assert (first.first_id, first.last_id) == (first.data[0].id, first.data[1].id)
    second = await store.list_items(conversation_id, after=first.last_id, limit=2, order="asc")
    assert _texts(second.data) == ["m2", "m3"] and second.has_more
    last = await store.list_items(conversation_id, after=second.last_id, limit=2, order="asc")
    assert _texts(last.data) == ["m4"] and not last.has_more
    back = await store.list_items(conversation_id, after=second.first_id, limit=10)
    assert _texts(back.data) == ["m1", "m0"] and not back.has_more
    exact = await store.list_items(conversation_id, limit=5)
    assert len(exact.data) == 5 and not exact.has_more


async def test_list_items_rejects_bad_arguments(store: ConversationsStore) -> None:
    conversation_id = await _with_messages(store, 1)
    other_id = await _with_messages(store, 1)
    foreign = (await store.all_items(other_id))[0].id or ""
    with pytest.raises(NotFoundError, match="after"):
        await store.list_items(conversation_id, after=foreign)
    for limit in (0, 101):
        with pytest.raises(BadRequestError, match="between 1 and 100"):
            await store.list_items(conversation_id, limit=limit)
    with pytest.raises(BadRequestError, match="order"):
        await store.list_items(conversation_id, order="sideways")  # type: ignore[arg-type]
    with pytest.raises(BadRequestError, match="Unknown include values: bogus"):
        await store.list_items(conversation_id, include=["bogus"])  # type: ignore[list-item]
    asked = await store.list_items(conversation_id, include=["file_search_call.results"])
    assert _texts(asked.data) == ["m0"]


async def test_retrieve_and_delete_an_item(store: ConversationsStore) -> None:
    made = await store.create_conversation(
        [
            _message("keep", "msg_keep"),
            FunctionCallItem(id="fc_x", call_id="c", name="f", arguments="{}"),
        ]
    )
    call = await store.retrieve_item(made.id, "fc_x")
    assert isinstance(call, FunctionCallItem) and call.name == "f"
    deleted = await store.delete_item(made.id, "fc_x")
    assert (deleted.id, deleted.object, deleted.deleted) == (
        "fc_x",
        "conversation.item.deleted",
        True,
    )
    with pytest.raises(NotFoundError, match="fc_x"):
        await store.retrieve_item(made.id, "fc_x")
    with pytest.raises(NotFoundError):
        await store.delete_item(made.id, "fc_x")
    assert [item.id for item in await store.all_items(made.id)] == ["msg_keep"]
    # A deleted id can be used again.
    await store.create_items(
        made.id, [FunctionCallItem(id="fc_x", call_id="c", name="g", arguments="{}")]
    )
    assert [item.id for item in await store.all_items(made.id)] == ["msg_keep", "fc_x"]


def _calls(store: ConversationsStore, conversation_id: str) -> list[Coroutine[Any, Any, Any]]:
    return [
        store.retrieve_conversation(conversation_id),
        store.update_conversation(conversation_id, {}),
        store.delete_conversation(conversation_id),
        store.create_items(conversation_id, [_message("x")]),
        store.list_items(conversation_id),
        store.retrieve_item(conversation_id, "msg_1"),
        store.delete_item(conversation_id, "msg_1"),
        store.all_items(conversation_id),
    ]


async def test_unknown_conversation_everywhere(store: ConversationsStore) -> None:
    missing = "conv_" + "0" * 48
    for call in _calls(store, missing):
        with pytest.raises(NotFoundError, match=f"^Conversation '{missing}' not found\\.$"):
            await call


async def test_malformed_conversation_id_is_a_bad_request(store: ConversationsStore) -> None:
    # As Llama Stack 0.7.3 validates: "conv_" + 48 lowercase hex (ours once were 32: still valid).
    for bad in ("conv_nope", "invalid_id", "conv_" + "A" * 48, "conv_" + "0" * 40):
        for call in _calls(store, bad):
            with pytest.raises(
                BadRequestError, match=f"Invalid value for 'conversation_id': {bad}"
            ):
                await call
    made = await store.create_conversation()
    assert CONVERSATION_ID.fullmatch(made.id) and len(made.id) == len("conv_") + 48
    older = "conv_" + "0" * 32
    with pytest.raises(NotFoundError):
        await store.retrieve_conversation(older)


@pytest.mark.parametrize(
    ("metadata", "rule"),
    [
        ({f"k{i}": "v" for i in range(17)}, "at most 16 key-value pairs, got 17"),
        ({"k" * 65: "v"}, "keys are at most 64 characters"),
        ({"k": "v" * 513}, "values are at most 512 characters"),
        ({"k": 1}, "must be strings"),
    ],
)
async def test_metadata_limits(store: ConversationsStore, metadata: Any, rule: str) -> None:
    with pytest.raises(BadRequestError, match=rule):
        await store.create_conversation(metadata=metadata)
    made = await store.create_conversation(metadata={"ok": "yes"})
    with pytest.raises(BadRequestError, match=rule):
        await store.update_conversation(made.id, metadata)
    assert (await store.retrieve_conversation(made.id)).metadata == {"ok": "yes"}


async def test_metadata_at_the_limits_is_accepted(store: ConversationsStore) -> None:
    biggest = {f"{i:02d}" + "k" * 62: "v" * 512 for i in range(16)}
    made = await store.create_conversation(metadata=biggest)
    assert (await store.retrieve_conversation(made.id)).metadata == biggest


async def test_conversations_survive_a_new_store_on_the_same_files(tmp_path: Path) -> None:
    first = StorageManager(StorageConfig(), tmp_path)
    made = await ConversationsStore(first, REF).create_conversation(
        [_message("remember me")], {"k": "v"}
    )
    await first.close()
    second = StorageManager(StorageConfig(), tmp_path)
    try:
        reopened = ConversationsStore(second, REF)
        assert await reopened.retrieve_conversation(made.id) == made
        await reopened.create_items(made.id, [_message("and me")])
        assert _texts(await reopened.all_items(made.id)) == ["remember me", "and me"]
    finally:
        await second.close()


async def test_owners_see_only_their_own_conversations(store: ConversationsStore) -> None:
    before = current_principal.set(None)
    try:
        await _check_owners(store)
    finally:
        current_principal.reset(before)


async def _check_owners(store: ConversationsStore) -> None:
    _as("alice")
    mine = await store.create_conversation([_message("alice's")], {"who": "alice"})
    _as("bob")
    calls = [
        store.retrieve_conversation(mine.id),
        store.update_conversation(mine.id, {"who": "bob"}),
        store.create_items(mine.id, [_message("bob was here")]),
        store.list_items(mine.id),
        store.retrieve_item(mine.id, "any"),
        store.delete_item(mine.id, "any"),
        store.all_items(mine.id),
        store.delete_conversation(mine.id),
    ]
    for call in calls:
        with pytest.raises(NotFoundError):
            await call
    bobs = await store.create_conversation()
    _as("root", "admin")
    assert (await store.retrieve_conversation(mine.id)).metadata == {"who": "alice"}
    assert (await store.retrieve_conversation(bobs.id)).id == bobs.id
    _as("alice")
    assert _texts(await store.all_items(mine.id)) == ["alice's"]
    with pytest.raises(NotFoundError):
        await store.retrieve_conversation(bobs.id)
