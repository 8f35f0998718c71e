"""PromptsService: the Prompts API on the stack's kv store (versions, default version, owners)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.prompts.models import (
    PLACEHOLDER,
    ListPromptsResponse,
    Prompt,
    new_prompt_id,
    placeholders,
)
from llama_workbench.core.access import (
    PROMPT,
    can_access,
    check_access,
    check_create,
    owner_for_new_resource,
)
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import BadRequestError, NotFoundError
from llama_workbench.storage.config import KVStoreRef, StorageConfig

if TYPE_CHECKING:
    from llama_workbench.core.policy import Action
    from llama_workbench.storage.kv import KVStore
    from llama_workbench.storage.manager import StorageManager

# Llama Stack 0.7's keys, so a kv store written by one reads in the other:
# `prompts:v1:<id>:<version>` holds a version (JSON), `prompts:v1:<id>:default` its number.
_PREFIX = "prompts:v1:"
_DEFAULT = "default"


def prompts_store_ref(config: StorageConfig) -> KVStoreRef:
    """`storage.stores.prompts` (as in Llama Stack's run configs), else a `prompts` namespace
    in the kv backend of the metadata store."""
    ref = config.stores.get("prompts")
    if isinstance(ref, KVStoreRef):
        return ref
    metadata = config.stores.get("metadata")
    backend = metadata.backend if isinstance(metadata, KVStoreRef) else "kv_default"
    return KVStoreRef(backend=backend, namespace="prompts")


def build_prompts(storage: StorageManager, wrap: Callable[[Api, Any], Any] | None) -> Any:
    """The stack's Prompts API (through `wrap`, the tracer, when given)."""
    service = PromptsService(storage, prompts_store_ref(storage.config))
    return wrap(Api.prompts, service) if wrap is not None else service


def render_template(text: str, values: Mapping[str, str]) -> str:
    """`text` with each {{name}} whose name is in `values` replaced; others are left as written."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


class PromptsService:
    """Versioned prompt templates; a caller sees only the prompts it owns (admins and
    unauthenticated use see all). The kv store is opened on first use."""

    def __init__(self, storage: StorageManager, ref: KVStoreRef) -> None:
        self._storage = storage
        self._ref = ref
        self._kv: KVStore | None = None
        self._opening = asyncio.Lock()
        self._writing = asyncio.Lock()  # an update reads the latest version, then writes the next

    async def _store(self) -> KVStore:
        async with self._opening:
            if self._kv is None:
                self._kv = await self._storage.kv(self._ref)
        return self._kv

    # -- reads

    async def list_prompts(self) -> ListPromptsResponse:
        """Every prompt the caller may see, in its default version (newest id first)."""
        kv = await self._store()
        prompts = []
        for key, default in await kv.items_with_prefix(_PREFIX):
            if not key.endswith(f":{_DEFAULT}"):
                continue
            prompt_id = key[len(_PREFIX) : -len(_DEFAULT) - 1]
            record = await self._record(kv, prompt_id, default)
            if record is not None and can_access(record.get("owner"), PROMPT, prompt_id):
                prompts.append(_prompt(record, is_default=True))
        prompts.sort(key=lambda p: p.prompt_id, reverse=True)
        return ListPromptsResponse(data=prompts)

    async def get_prompt(self, prompt_id: str, version: int | None = None) -> Prompt:
        """One version of a prompt (default: its default version)."""
        kv = await self._store()
        default = await self._default(kv, prompt_id)
        wanted = default if version is None else str(_checked_version(version))
        record = await self._record(kv, prompt_id, wanted)
        if record is None:
            raise NotFoundError("Prompt", f"{prompt_id}:{version}")
        return _prompt(record, is_default=wanted == default)

    async def list_prompt_versions(self, prompt_id: str) -> ListPromptsResponse:
        """Every version of a prompt, oldest first."""
        kv = await self._store()
        default = await self._default(kv, prompt_id)
        versions = [
            _prompt(record, is_default=str(record["version"]) == default)
            for key, value in await kv.items_with_prefix(f"{_PREFIX}{prompt_id}:")
            if not key.endswith(f":{_DEFAULT}")
            for record in [json.loads(value)]
        ]
        versions.sort(key=lambda p: p.version)
        return ListPromptsResponse(data=versions)

    async def render(
        self,
        prompt_id: str,
        variables: Mapping[str, str] | None = None,
        version: int | None = None,
    ) -> str:
        """The prompt's text with its {{placeholders}} filled in from `variables`.

        Every name given must be a declared variable of the prompt; placeholders without a value
        are left as written (as Llama Stack 0.7 does).
        """
        prompt = await self.get_prompt(prompt_id, version)
        values = dict(variables or {})
        undeclared = sorted(set(values) - set(prompt.variables))
        if undeclared:
            raise BadRequestError(
                f"Variables {undeclared} are not defined in prompt '{prompt_id}' version "
                f"{prompt.version} (its variables: {prompt.variables})."
            )
        for name, value in values.items():
            if not isinstance(value, str):
                raise BadRequestError(
                    f"Variable '{name}': the value must be a string, got {type(value).__name__}."
                )
        return render_template(prompt.prompt or "", values)

    # -- writes

    async def create_prompt(self, prompt: str, variables: list[str] | None = None) -> Prompt:
        """A new prompt at version 1; every {{placeholder}} must be among `variables`."""
        declared = _checked_variables(prompt, variables)
        prompt_id = new_prompt_id()
        check_create(PROMPT, prompt_id)
        record = _new_record(prompt_id, prompt, 1, declared, owner_for_new_resource())
        kv = await self._store()
        await kv.set(_key(prompt_id, "1"), json.dumps(record))
        await kv.set(_key(prompt_id, _DEFAULT), "1")
        return _prompt(record, is_default=True)

    async def update_prompt(
        self,
        prompt_id: str,
        prompt: str,
        version: int,
        variables: list[str] | None = None,
        set_as_default: bool = True,
    ) -> Prompt:
        """A new version on top of `version`, which must be the latest one."""
        _checked_version(version)
        declared = _checked_variables(prompt, variables)
        kv = await self._store()
        async with self._writing:
            await self._default(kv, prompt_id, "update")
            versions = (await self.list_prompt_versions(prompt_id)).data
            latest = versions[-1].version
            if version != latest:
                raise BadRequestError(
                    f"'{version}' is not the latest prompt version for prompt_id='{prompt_id}'. "
                    f"Use the latest version '{latest}' in request."
                )
            owner = (await self._record(kv, prompt_id, str(latest)) or {}).get("owner")
            record = _new_record(prompt_id, prompt, latest + 1, declared, owner)
            await kv.set(_key(prompt_id, str(latest + 1)), json.dumps(record))
            if set_as_default:
                await kv.set(_key(prompt_id, _DEFAULT), str(latest + 1))
        return _prompt(record, is_default=set_as_default)

    async def delete_prompt(self, prompt_id: str) -> None:
        """Delete a prompt and all its versions."""
        kv = await self._store()
        await self._default(kv, prompt_id, "delete")
        async with self._writing:
            # The default pointer last: until it goes, the prompt is still whole enough to list.
            keys = sorted(
                await kv.keys_with_prefix(f"{_PREFIX}{prompt_id}:"),
                key=lambda k: k.endswith(f":{_DEFAULT}"),
            )
            for key in keys:
                await kv.delete(key)

    async def set_default_version(self, prompt_id: str, version: int) -> Prompt:
        """Make `version` the one used when no version is asked for."""
        kv = await self._store()
        await self._default(kv, prompt_id, "update")
        record = await self._record(kv, prompt_id, str(_checked_version(version)))
        if record is None:
            raise NotFoundError("Prompt", f"{prompt_id}:{version}")
        await kv.set(_key(prompt_id, _DEFAULT), str(version))
        return _prompt(record, is_default=True)

    # -- helpers

    async def _default(self, kv: KVStore, prompt_id: str, action: Action = "read") -> str:
        """The default version of a prompt the caller may see (NotFoundError otherwise) and
        may do `action` on (PermissionDeniedError otherwise)."""
        default = await kv.get(_key(prompt_id, _DEFAULT))
        if default is not None:
            record = await self._record(kv, prompt_id, default)
            if record is not None and can_access(record.get("owner"), PROMPT, prompt_id):
                check_access(record.get("owner"), PROMPT, prompt_id, action)
                return default
        raise NotFoundError("Prompt", prompt_id)

    @staticmethod
    async def _record(kv: KVStore, prompt_id: str, version: str) -> dict[str, Any] | None:
        value = await kv.get(_key(prompt_id, version))
        return None if value is None else dict(json.loads(value))


def _key(prompt_id: str, version: str) -> str:
    return f"{_PREFIX}{prompt_id}:{version}"


def _new_record(
    prompt_id: str, text: str, version: int, variables: list[str], owner: str | None
) -> dict[str, Any]:
    # Llama Stack's fields, and the owner (which it ignores when reading).
    return {
        "prompt_id": prompt_id,
        "prompt": text,
        "version": version,
        "variables": variables,
        "is_default": False,
        "owner": owner,
    }


def _prompt(record: Mapping[str, Any], *, is_default: bool) -> Prompt:
    return Prompt(
        prompt_id=record["prompt_id"],
        prompt=record.get("prompt"),
        version=record["version"],
        variables=list(record.get("variables") or []),
        is_default=is_default,
    )


def _checked_version(version: int) -> int:
    if version < 1:
        raise BadRequestError(f"Version must be >= 1, got {version}.")
    return version


def _checked_variables(text: str, variables: list[str] | None) -> list[str]:
    """The declared variables; every placeholder of `text` must be among them."""
    declared = list(variables or [])
    undeclared = sorted(set(placeholders(text)) - set(declared))
    if undeclared:
        raise BadRequestError(f"Prompt contains undeclared variables: {undeclared}")
    return declared
