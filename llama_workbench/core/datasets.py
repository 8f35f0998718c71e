"""The Datasets registry (a routing table) and the DatasetIO API routed over it to providers."""

from __future__ import annotations

import asyncio
import builtins
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pydantic import ValidationError

from llama_workbench.apis.datasetio.api import DatasetIOProvider
from llama_workbench.apis.datasetio.models import PaginatedRows, page_bounds
from llama_workbench.apis.datasets.models import (
    Dataset,
    DatasetPurpose,
    DataSource,
    RegisterDatasetRequest,
    URIDataSource,
    rows_from,
)
from llama_workbench.core.access import (
    DATASET,
    can_access,
    check_access,
    check_create,
    owner_for_new_resource,
)
from llama_workbench.core.config import StackConfig, validation_problems
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import (
    BadRequestError,
    ConfigError,
    ConflictError,
    LlamaWorkbenchError,
    NotFoundError,
    UnprocessableError,
)
from llama_workbench.core.resource_table import ResourceTable
from llama_workbench.storage.kv import KVStore

if TYPE_CHECKING:
    from llama_workbench.core.build_context import BuildContext

HF_SCHEMES = ("hf://", "huggingface://")
LOCALFS = "inline::localfs"
HUGGINGFACE = "remote::huggingface"


async def build_datasetio(ctx: BuildContext) -> dict[Api, Any]:
    """The DatasetIO router and the Datasets table over the stack's datasetio providers."""
    kv = await ctx.storage.kv("metadata")
    types = {p.provider_id: p.provider_type for p in ctx.config.providers.get(Api.datasetio, [])}
    table = DatasetsRoutingTable(ctx.providers, types, kv, declared_datasets(ctx.config))
    await table.initialize()
    return {Api.datasetio: DatasetIORouter(table), Api.datasets: table}


def declared_datasets(config: StackConfig) -> list[RegisterDatasetRequest]:
    """`registered_resources.datasets` of a run config, validated; one ConfigError lists problems."""
    requests: list[RegisterDatasetRequest] = []
    problems: list[str] = []
    for i, raw in enumerate(config.registered_resources.datasets):
        loc = ("registered_resources", "datasets", i)
        try:
            request = RegisterDatasetRequest.model_validate(raw)
        except ValidationError as exc:
            problems.extend(
                validation_problems(_untagged(exc), config._origin, config._lines, prefix=loc)
            )
            continue
        if request.dataset_id is None:
            problems.append(
                f"  {config.where(loc)}: registered_resources.datasets[{i}].dataset_id is required "
                "(a generated id would change at every start)"
            )
        elif request.dataset_id in {r.dataset_id for r in requests}:
            problems.append(
                f"  {config.where(loc)}: registered_resources.datasets[{i}].dataset_id "
                f"'{request.dataset_id}' is declared twice"
            )
        requests.append(request)
    if problems:
        count = len(problems)
        raise ConfigError(
            "\n".join(
                [f"Invalid run config ({count} problem{'s' if count > 1 else ''}):", *problems]
            )
        )
    return requests


class DatasetsRoutingTable:
    """The Datasets API: datasets declared in the run config plus those users register.

    Registrations persist in the kv store. After a restart each dataset is handed to its
    provider again on first use, so starting a stack reads no dataset files, and a dataset whose
    file vanished says so when it is used.
    """

    def __init__(
        self,
        providers: Mapping[str, DatasetIOProvider],
        provider_types: Mapping[str, str],
        kv: KVStore,
        declared: list[RegisterDatasetRequest],
    ) -> None:
        self._providers = dict(providers)
        self._types = dict(provider_types)
        self._table: ResourceTable[Dataset] = ResourceTable("dataset", Dataset, kv)
        self._declared = declared
        self._from_config: set[str] = set()
        self._ready: set[str] = set()  # handed to their provider by this process
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock = asyncio.Lock()

    async def initialize(self) -> None:
        await self._table.load()
        for i, request in enumerate(self._declared):
            try:
                dataset = self._dataset_from(request, owner=None)
            except LlamaWorkbenchError as exc:
                raise ConfigError(
                    f"Invalid run config: registered_resources.datasets[{i}]: {exc.message}"
                ) from None
            await self._table.put(dataset, persist=False)
            self._from_config.add(dataset.identifier)

    # -- the Datasets protocol

    async def list(self) -> builtins.list[Dataset]:
        return sorted(
            (d for d in self._table.all() if can_access(d.owner, DATASET, d.identifier)),
            key=lambda d: d.identifier,
        )

    async def retrieve(self, dataset_id: str) -> Dataset:
        dataset = self._table.get(dataset_id)
        if dataset is None or not can_access(dataset.owner, DATASET, dataset_id):
            raise NotFoundError("Dataset", dataset_id, [d.identifier for d in await self.list()])
        return dataset

    async def register(
        self,
        purpose: DatasetPurpose | str,
        source: DataSource | dict[str, Any],
        metadata: dict[str, Any] | None = None,
        dataset_id: str | None = None,
        provider_id: str | None = None,
    ) -> Dataset:
        request = _request(purpose, source, metadata, dataset_id, provider_id)
        dataset = self._dataset_from(request, owner=owner_for_new_resource())
        async with self._lock:
            existing = self._table.get(dataset.identifier)
            if existing is not None:
                return self._same_or_conflict(existing, dataset)
            check_create(DATASET, dataset.identifier)
            await self._provider(dataset).register_dataset(dataset)
            self._ready.add(dataset.identifier)
            await self._table.put(dataset, persist=True)
        return dataset

    async def unregister(self, dataset_id: str) -> None:
        dataset = await self.retrieve(dataset_id)
        if dataset_id in self._from_config:
            raise BadRequestError(
                f"Dataset '{dataset_id}' comes from the run config; remove it there instead."
            )
        check_access(dataset.owner, DATASET, dataset_id, "delete")
        async with self._lock:
            await self._provider(dataset).unregister_dataset(dataset.identifier)
            await self._table.remove(dataset.identifier)
            self._ready.discard(dataset.identifier)

    # -- lookup used by the router

    async def ready(self, dataset_id: str) -> tuple[Dataset, DatasetIOProvider]:
        """The dataset and its provider, which has loaded it (at most once per process)."""
        dataset = await self.retrieve(dataset_id)
        provider = self._provider(dataset)
        if dataset_id not in self._ready:
            async with self._locks.setdefault(dataset_id, asyncio.Lock()):
                if dataset_id not in self._ready:
                    await provider.register_dataset(dataset)
                    self._ready.add(dataset_id)
        return dataset, provider

    def _same_or_conflict(self, existing: Dataset, dataset: Dataset) -> Dataset:
        keys = ("purpose", "source", "metadata", "provider_id")
        same = existing.model_dump(include=set(keys)) == dataset.model_dump(include=set(keys))
        visible = can_access(existing.owner, DATASET, existing.identifier)
        if same and visible:
            return existing  # registering the same thing again (a re-run notebook cell) is fine
        if existing.identifier in self._from_config or not visible:
            raise ConflictError(f"Dataset id '{existing.identifier}' is taken; choose another id.")
        raise ConflictError(
            f"Dataset '{existing.identifier}' is already registered with another "
            f"{'source' if existing.source != dataset.source else 'purpose or metadata'}; "
            "unregister it first or choose another dataset_id."
        )

    def _provider(self, dataset: Dataset) -> DatasetIOProvider:
        provider = self._providers.get(dataset.provider_id)
        if provider is None:
            raise NotFoundError("Datasetio provider", dataset.provider_id, self._providers)
        return provider

    def _dataset_from(self, request: RegisterDatasetRequest, owner: str | None) -> Dataset:
        identifier = request.dataset_id or f"dataset-{uuid.uuid4().hex}"
        source = request.source
        if isinstance(source, URIDataSource):
            source = URIDataSource(uri=_absolute(source.uri))
        return Dataset(
            identifier=identifier,
            provider_id=self._pick_provider(request.provider_id, source),
            provider_resource_id=identifier,
            purpose=request.purpose,
            source=source,
            metadata=request.metadata or {},
            owner=owner,
        )

    def _pick_provider(self, provider_id: str | None, source: URIDataSource | Any) -> str:
        if provider_id is not None:
            if provider_id not in self._providers:
                raise NotFoundError("Datasetio provider", provider_id, self._providers)
            return provider_id
        hf = isinstance(source, URIDataSource) and source.uri.startswith(HF_SCHEMES)
        wanted = HUGGINGFACE if hf else LOCALFS
        for pid, provider_type in self._types.items():
            if provider_type == wanted and pid in self._providers:
                return pid
        if not hf and len(self._providers) == 1:
            return next(iter(self._providers))
        what = "A hf:// dataset" if hf else "This dataset"
        raise BadRequestError(
            f"{what} needs a {wanted} datasetio provider, and this stack has "
            f"{', '.join(f'{p} ({t})' for p, t in sorted(self._types.items())) or 'none'}: "
            "add one to the run config or pass provider_id."
        )


class DatasetIORouter:
    """The DatasetIO API: finds the dataset, reads or appends its rows through its provider."""

    def __init__(self, table: DatasetsRoutingTable) -> None:
        self._table = table

    async def iterrows(
        self, dataset_id: str, start_index: int | None = None, limit: int | None = None
    ) -> PaginatedRows:
        page_bounds(0, start_index, limit)  # bad arguments fail before any file is read
        dataset, provider = await self._table.ready(dataset_id)
        return await provider.iterrows(dataset.identifier, start_index, limit)

    async def append_rows(self, dataset_id: str, rows: list[dict[str, Any]]) -> None:
        checked = rows_from(rows)  # a DataFrame works too; NaN becomes None
        dataset, provider = await self._table.ready(dataset_id)
        check_access(dataset.owner, DATASET, dataset_id, "update")
        if checked:
            await provider.append_rows(dataset.identifier, checked)


def _request(
    purpose: DatasetPurpose | str,
    source: DataSource | dict[str, Any],
    metadata: dict[str, Any] | None,
    dataset_id: str | None,
    provider_id: str | None,
) -> RegisterDatasetRequest:
    fields = {
        "purpose": purpose,
        "source": source.model_dump() if not isinstance(source, Mapping) else source,
        "metadata": metadata,
        "dataset_id": dataset_id,
        "provider_id": provider_id,
    }
    try:
        return RegisterDatasetRequest.model_validate(fields)
    except ValidationError as exc:
        problems = validation_problems(_untagged(exc), "", {})
        raise UnprocessableError(
            "Invalid RegisterDatasetRequest:\n" + "\n".join(problems)
        ) from None


def _untagged(exc: ValidationError) -> ValidationError:
    """The error without the union tags pydantic puts in locations (source.uri.uri -> source.uri)."""
    details: list[Any] = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if len(loc) > 1 and loc[0] == "source" and loc[1] in ("uri", "rows"):
            loc = (loc[0], *loc[2:])
        detail = {"type": error["type"], "loc": loc, "input": error["input"]}
        if "ctx" in error:
            detail["ctx"] = error["ctx"]
        details.append(detail)
    return ValidationError.from_exception_data(exc.title, details)


def _absolute(uri: str) -> str:
    """A relative local path made absolute (against the working directory at registration),
    so the dataset still resolves after a restart from elsewhere; other URIs are kept."""
    if urlparse(uri).scheme:
        return uri
    return str(Path(uri).expanduser().resolve())
