"""The Stack: federation, qualified ids, persistence, fallback, errors, sync and async faces."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from llama_workbench import Stack
from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ProviderUnavailableError,
    UnprocessableError,
)
from tests.support.stub_server import free_port
from tests.unit.core.conftest import two_provider_config


def test_models_from_two_providers_are_federated(stub_a, stub_b, tmp_path: Path) -> None:
    with Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path)) as stack:
        ids = [m.identifier for m in stack.models.list()]
        assert ids == ["a/alpha", "a/shared", "b/beta", "b/embed-b", "b/shared"]
        embed = stack.models.retrieve("embed-b")
        assert embed.model_type == "embedding" and embed.metadata == {"embedding_dimension": 3}


def test_qualified_and_unqualified_ids(stub_a, stub_b, tmp_path: Path) -> None:
    with Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path)) as stack:
        assert stack.models.retrieve("alpha").identifier == "a/alpha"
        assert stack.models.retrieve("b/beta").provider_resource_id == "beta"
        with pytest.raises(
            BadRequestError, match="'shared' is ambiguous: it is served as a/shared, b/shared"
        ):
            stack.models.retrieve("shared")
        reply = stack.inference.chat_completion(
            model="b/shared", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "echo: hi" and reply.model == "b/shared"
        assert stub_b.requests[-1]["body"]["model"] == "shared"


def test_unknown_model_lists_what_exists(stub_a, stub_b, tmp_path: Path) -> None:
    with Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path)) as stack:
        with pytest.raises(NotFoundError) as info:
            stack.inference.chat_completion(
                model="gpt-9", messages=[{"role": "user", "content": "x"}]
            )
        assert "Model 'gpt-9' not found. Available: a/alpha, a/shared, b/beta" in str(info.value)
        assert info.value.status_code == 404


def test_registration_persists_across_restart(stub_a, stub_b, tmp_path: Path) -> None:
    config = two_provider_config(stub_a, stub_b, tmp_path)
    with Stack.from_config(config) as stack:
        model = stack.models.register(
            model_id="my-alias", provider_id="a", provider_model_id="alpha"
        )
        assert model.source == "user"
        with pytest.raises(ConflictError):
            stack.models.register(model_id="my-alias", provider_id="b", provider_model_id="beta")
    with Stack.from_config(config) as stack:
        again = stack.models.retrieve("my-alias")
        assert (again.provider_id, again.provider_resource_id) == ("a", "alpha")
        reply = stack.inference.chat_completion(
            model="my-alias", messages=[{"role": "user", "content": "yo"}]
        )
        assert reply.choices[0].message.content == "echo: yo"
        stack.models.unregister("my-alias")
    with Stack.from_config(config) as stack, pytest.raises(NotFoundError):
        stack.models.retrieve("my-alias")


def test_config_declared_models_cannot_be_unregistered(stub_a, stub_b, tmp_path: Path) -> None:
    models = {"models": [{"model_id": "fast", "provider_id": "a", "provider_model_id": "alpha"}]}
    config = two_provider_config(stub_a, stub_b, tmp_path, registered_resources=models)
    with Stack.from_config(config) as stack:
        assert stack.models.retrieve("fast").source == "config"
        with pytest.raises(BadRequestError, match="comes from the config"):
            stack.models.unregister("fast")


def test_fallback_when_provider_unreachable(stub_a, stub_b, tmp_path: Path) -> None:
    config = two_provider_config(stub_a, stub_b, tmp_path)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    config["providers"]["inference"].append(
        {
            "provider_id": "dead",
            "provider_type": "remote::vllm",
            "config": {
                "base_url": dead,
                "max_retries": 0,
                "discover_models": False,
                "models": ["m"],
            },
        }
    )
    config["registered_resources"] = {
        "models": [
            {
                "model_id": "primary",
                "provider_id": "dead",
                "provider_model_id": "m",
                "fallback_model_id": "a/alpha",
            },
            {"model_id": "no-fallback", "provider_id": "dead", "provider_model_id": "m"},
        ]
    }
    with Stack.from_config(config) as stack:
        reply = stack.inference.chat_completion(
            model="primary", messages=[{"role": "user", "content": "hello"}]
        )
        assert reply.choices[0].message.content == "echo: hello"
        with pytest.raises(ProviderUnavailableError, match="unreachable"):
            stack.inference.chat_completion(
                model="no-fallback", messages=[{"role": "user", "content": "x"}]
            )
        # An unreachable provider does not break the federated list.
        assert "a/alpha" in [m.identifier for m in stack.models.list()]


def test_wrong_model_type_and_bad_arguments(stub_a, stub_b, tmp_path: Path) -> None:
    with Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path)) as stack:
        with pytest.raises(BadRequestError, match="is an embedding model; use it for embeddings"):
            stack.inference.chat_completion(
                model="embed-b", messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(UnprocessableError, match="messages is required"):
            stack.inference.chat_completion(model="alpha")
        vectors = stack.inference.embeddings(model="embed-b", input=["ab", "abcd"])
        assert [d.embedding for d in vectors.data] == [[2.0, 1.0, 0.0], [4.0, 1.0, 0.0]]


def test_streaming_sync_and_early_close(stub_a, stub_b, tmp_path: Path) -> None:
    with Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path)) as stack:
        messages = [{"role": "user", "content": "one two three"}]
        chunks = list(
            stack.inference.chat_completion(model="alpha", messages=messages, stream=True)
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        assert text == "echo: one two three" and all(c.model == "alpha" for c in chunks)
        stream = stack.inference.chat_completion(model="alpha", messages=messages, stream=True)
        first = next(stream)
        stream.close()
        assert first.choices[0].delta.content == "echo:"
        assert list(stream) == []


def test_providers_api_masks_secrets(stub_a, stub_b, tmp_path: Path) -> None:
    with Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path)) as stack:
        info = stack.providers.retrieve("b")
        assert info.provider_type == "remote::openai"
        assert info.config["api_key"] == "**********"
        assert "sk-secret-b" not in repr(stack.providers.list())
        with pytest.raises(NotFoundError, match="Available: a, b"):
            stack.providers.retrieve("c")
    # Secrets outside SecretStr fields too: headers, passwords in URLs.
    config = two_provider_config(stub_a, stub_b, tmp_path)
    entry = config["providers"]["inference"][1]["config"]
    entry["extra_headers"] = {"Authorization": "Bearer tok-hidden", "X-Team": "ml"}
    entry["base_url"] = entry["base_url"].replace("http://", "http://user:pw-hidden@")
    with Stack.from_config(config) as stack:
        shown = repr(stack.providers.list())
        assert "tok-hidden" not in shown and "pw-hidden" not in shown and "'X-Team': 'ml'" in shown


def test_async_face_inside_running_loop(stub_a, stub_b, tmp_path: Path) -> None:
    stack = Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path))

    async def main() -> tuple[list[str], str, list[str]]:
        # Sync calls from inside a running loop (as in a notebook cell) work too: no deadlock.
        sync_ids = [m.identifier for m in stack.models.list()]
        models = await stack.aio.models.list()
        stream = await stack.aio.inference.chat_completion(
            model="alpha", messages=[{"role": "user", "content": "a b"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
        return [m.identifier for m in models], text, sync_ids

    ids, text, sync_ids = asyncio.run(main())
    assert ids == sync_ids and "a/alpha" in ids and text == "echo: a b"
    stack.close()


def test_many_threads_share_one_stack(stub_a, stub_b, tmp_path: Path) -> None:
    errors: list[BaseException] = []
    results: list[str] = []
    with Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path)) as stack:

        def work(n: int) -> None:
            try:
                for i in range(25):
                    r = stack.inference.chat_completion(
                        model="alpha", messages=[{"role": "user", "content": f"{n}-{i}"}]
                    )
                    results.append(r.choices[0].message.content or "")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and len(results) == 100
    assert sorted(results) == sorted(f"echo: {n}-{i}" for n in range(4) for i in range(25))


def test_stack_is_silent_and_leaves_logging_alone(stub_a, stub_b, tmp_path: Path, capsys) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path)) as stack:
        stack.models.list()
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    assert root.handlers == handlers and root.level == level


def test_unknown_api_attribute_is_clear(stub_a, stub_b, tmp_path: Path) -> None:
    with Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path)) as stack:
        with pytest.raises(AttributeError, match="API 'safety' is not enabled in this stack"):
            stack.safety  # noqa: B018
        with pytest.raises(AttributeError, match=r"has no method 'lst'\. Methods: list, register"):
            stack.models.lst  # noqa: B018


def test_stored_chat_completions(stub_a, stub_b, tmp_path: Path) -> None:
    storage = {
        "backends": {"kv_default": {"type": "kv_sqlite"}, "sql_default": {"type": "sql_sqlite"}},
        "stores": {
            "metadata": {"backend": "kv_default", "namespace": "registry"},
            "inference": {"backend": "sql_default", "table_name": "inference_store"},
        },
    }
    config = two_provider_config(stub_a, stub_b, tmp_path, storage=storage)
    with Stack.from_config(config) as stack:
        first = stack.inference.chat_completion(
            model="alpha", messages=[{"role": "user", "content": "one"}]
        )
        chunks = list(
            stack.inference.chat_completion(
                model="beta", messages=[{"role": "user", "content": "two"}], stream=True
            )
        )
        stack.inference.chat_completion(
            model="alpha", messages=[{"role": "user", "content": "x"}], store=False
        )
        page = stack.inference.list_chat_completions(limit=1)
        assert page.has_more and page.data[0].id == chunks[0].id
        assert (
            page.data[0].choices[0].message.content == "echo: two" and page.data[0].model == "beta"
        )
        rest = stack.inference.list_chat_completions(after=page.last_id)
        assert [c.id for c in rest.data] == [first.id] and not rest.has_more
        assert rest.data[0].input_messages[0].content == "one"
        assert stack.inference.list_chat_completions(model="beta").data[0].id == chunks[0].id
    with Stack.from_config(config) as stack:  # they persist
        assert (
            stack.inference.get_chat_completion(first.id).choices[0].message.content == "echo: one"
        )
        with pytest.raises(NotFoundError):
            stack.inference.get_chat_completion("chatcmpl-nope")


def test_stored_completions_off_is_a_clear_error(stub_a, stub_b, tmp_path: Path) -> None:
    config = two_provider_config(stub_a, stub_b, tmp_path)
    with (
        Stack.from_config(config) as stack,
        pytest.raises(BadRequestError, match="Stored chat completions are off"),
    ):
        stack.inference.list_chat_completions()
