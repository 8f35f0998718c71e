"""The ScoringFunctions registry (a routing table) and the Scoring API routed over it to providers."""

from __future__ import annotations

import builtins
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from llama_workbench.apis.scoring.api import ScoringProvider
from llama_workbench.apis.scoring.models import (
    ScoreBatchResponse,
    ScoreRequest,
    ScoreResponse,
    ScoringResult,
)
from llama_workbench.apis.scoring_functions.models import (
    BasicScoringFnParams,
    ParamType,
    RegisterScoringFunctionRequest,
    ScoringFn,
    ScoringFnParams,
)
from llama_workbench.core.access import (
    SCORING_FUNCTION,
    can_access,
    check_access,
    check_create,
    owner_for_new_resource,
)
from llama_workbench.core.build_context import BuildContext
from llama_workbench.core.config import validation_problems
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
from llama_workbench.providers.utils.scoring import gather_all, overlay_params
from llama_workbench.storage.kv import KVStore

logger = logging.getLogger(__name__)

RESULTS_PURPOSE = "eval/question-answer"


async def build_scoring(ctx: BuildContext) -> dict[Api, Any]:
    """The Scoring router and the ScoringFunctions table, with the config's functions registered."""
    declared, problems = [], []
    for index, raw in enumerate(ctx.config.registered_resources.scoring_fns):
        loc = ("registered_resources", "scoring_fns", index)
        try:
            declared.append(RegisterScoringFunctionRequest.model_validate(raw))
        except ValidationError as exc:
            problems += validation_problems(exc, ctx.config._origin, ctx.config._lines, prefix=loc)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise ConfigError("\n".join([f"Invalid run config ({count}):", *problems]))
    kv = await ctx.storage.kv("metadata")
    table = ScoringFunctionsRoutingTable(ctx.providers, kv, declared)
    await table.initialize()
    router = ScoringRouter(table, ctx.apis.get(Api.datasetio), ctx.apis.get(Api.datasets))
    return {Api.scoring: router, Api.scoring_functions: table}


def _validated(cls: type[BaseModel], fields: dict[str, Any]) -> Any:
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        problems = validation_problems(exc, "", {})
        raise UnprocessableError(f"Invalid {cls.__name__}:\n" + "\n".join(problems)) from None


class ScoringFunctionsRoutingTable:
    """The ScoringFunctions API: providers' functions, the run config's, and registered ones."""

    def __init__(
        self,
        providers: Mapping[str, ScoringProvider],
        kv: KVStore,
        declared: builtins.list[RegisterScoringFunctionRequest],
    ) -> None:
        self._providers = dict(providers)
        self._table: ResourceTable[ScoringFn] = ResourceTable("scoring_fn", ScoringFn, kv)
        self._declared = declared

    async def initialize(self) -> None:
        await self._table.load()
        for fn in self._table.all():  # registered in an earlier run: providers learn them again
            provider = self._providers.get(fn.provider_id)
            if provider is None:
                logger.warning(
                    "Scoring function '%s' was registered with provider '%s', which this "
                    "config does not have; it can't be used.",
                    fn.identifier,
                    fn.provider_id,
                )
                continue
            try:
                await self._table.put(await provider.register_scoring_function(fn), persist=False)
            except LlamaWorkbenchError as exc:
                logger.warning("Scoring function '%s' can't be used: %s", fn.identifier, exc)
        for index, request in enumerate(self._declared):
            try:
                await self._add(request, "config")
            except LlamaWorkbenchError as exc:
                raise ConfigError(
                    f"registered_resources.scoring_fns[{index}] ({request.scoring_fn_id}): "
                    f"{exc.message}"
                ) from None

    # -- the ScoringFunctions protocol

    async def list(self) -> builtins.list[ScoringFn]:
        listed = await self._listed()
        stored = [fn for fn in self._table.all() if fn.identifier not in listed]
        return sorted(
            (
                fn
                for fn in [*listed.values(), *stored]
                if can_access(fn.owner, SCORING_FUNCTION, fn.identifier)
            ),
            key=lambda fn: fn.identifier,
        )

    async def retrieve(self, scoring_fn_id: str) -> ScoringFn:
        fn = self._table.get(scoring_fn_id) or (await self._listed()).get(scoring_fn_id)
        if fn is None or not can_access(fn.owner, SCORING_FUNCTION, scoring_fn_id):
            available = [f.identifier for f in await self.list()]
            raise NotFoundError("Scoring function", scoring_fn_id, available)
        return fn

    async def register(
        self,
        scoring_fn_id: str,
        description: str,
        return_type: ParamType | str | dict[str, Any],
        provider_scoring_fn_id: str | None = None,
        provider_id: str | None = None,
        params: ScoringFnParams | dict[str, Any] | None = None,
    ) -> ScoringFn:
        request = _validated(
            RegisterScoringFunctionRequest,
            {
                "scoring_fn_id": scoring_fn_id,
                "description": description,
                "return_type": return_type,
                "provider_scoring_fn_id": provider_scoring_fn_id,
                "provider_id": provider_id,
                "params": params,
            },
        )
        return await self._add(request, "user")

    async def unregister(self, scoring_fn_id: str) -> None:
        fn = await self.retrieve(scoring_fn_id)
        if fn.source == "config":
            raise BadRequestError(
                f"Scoring function '{scoring_fn_id}' comes from the run config; remove it there."
            )
        check_access(fn.owner, SCORING_FUNCTION, scoring_fn_id, "delete")
        await self.provider_for(fn).unregister_scoring_function(scoring_fn_id)
        if fn.source == "user":
            await self._table.remove(scoring_fn_id)

    # -- for the router and the Python-function helpers

    def provider_for(self, fn: ScoringFn) -> ScoringProvider:
        provider = self._providers.get(fn.provider_id)
        if provider is None:
            raise NotFoundError("Scoring provider", fn.provider_id, self._providers)
        return provider

    @property
    def providers(self) -> dict[str, ScoringProvider]:
        return dict(self._providers)

    async def check_free(self, fn_id: str, *, python: bool = False) -> None:
        """ConflictError when `fn_id` is taken (a Python function may replace its own)."""
        existing = self._table.get(fn_id) or (await self._listed()).get(fn_id)
        if existing is None:
            return
        if python and existing.source == "provider" and "python" in existing.metadata:
            return
        if (
            existing.source == "user"
            and not python
            and can_access(existing.owner, SCORING_FUNCTION, fn_id)
        ):
            return
        raise ConflictError(f"Scoring function id '{fn_id}' is taken; choose another id.")

    async def _add(self, request: RegisterScoringFunctionRequest, source: str) -> ScoringFn:
        await self.check_free(request.scoring_fn_id)
        replaced = self._table.get(request.scoring_fn_id)
        if source == "user" and replaced is not None:
            check_access(replaced.owner, SCORING_FUNCTION, replaced.identifier, "update")
        elif source == "user":
            check_create(SCORING_FUNCTION, request.scoring_fn_id)
        provider_id = await self._provider_id_for(request)
        fn = ScoringFn(
            identifier=request.scoring_fn_id,
            provider_id=provider_id,
            provider_resource_id=request.provider_scoring_fn_id or request.scoring_fn_id,
            description=request.description,
            return_type=request.return_type,
            params=request.params,
            source=source,
            owner=owner_for_new_resource() if source == "user" else None,
        )
        fn = await self._providers[provider_id].register_scoring_function(fn)
        old = self._providers.get(replaced.provider_id) if replaced is not None else None
        if replaced is not None and old is not None and replaced.provider_id != provider_id:
            await old.unregister_scoring_function(replaced.identifier)
        await self._table.put(fn, persist=source == "user")
        return fn

    async def _provider_id_for(self, request: RegisterScoringFunctionRequest) -> str:
        """The provider named, else the one whose function is aliased, else the only one."""
        if request.provider_id is not None:
            if request.provider_id not in self._providers:
                raise NotFoundError("Scoring provider", request.provider_id, self._providers)
            return request.provider_id
        if request.provider_scoring_fn_id:
            for fn in (await self._listed()).values():
                if request.provider_scoring_fn_id in (fn.identifier, fn.provider_resource_id):
                    return fn.provider_id
        if len(self._providers) == 1:
            return next(iter(self._providers))
        raise BadRequestError(
            f"Scoring function '{request.scoring_fn_id}' needs a provider_id (or a "
            "provider_scoring_fn_id naming a provider's function): this stack has "
            f"{len(self._providers)} scoring providers ({', '.join(sorted(self._providers))})."
        )

    async def _listed(self) -> dict[str, ScoringFn]:
        """The providers' own functions; the first provider wins an id two of them offer."""
        listed: dict[str, ScoringFn] = {}
        for provider in self._providers.values():
            for fn in await provider.list_scoring_functions():
                listed.setdefault(fn.identifier, fn)
        return listed


class ScoringRouter:
    """The Scoring API: finds each function's provider, runs providers concurrently, merges."""

    def __init__(
        self,
        table: ScoringFunctionsRoutingTable,
        datasetio: Any = None,
        datasets: Any = None,
        *,
        page_size: int = 1000,  # rows read per datasetio call in score_batch
    ) -> None:
        self._table = table
        self._datasetio = datasetio
        self._datasets = datasets
        self._page_size = page_size

    async def score(
        self,
        input_rows: builtins.list[dict[str, Any]],
        scoring_functions: Mapping[str, ScoringFnParams | dict[str, Any] | None],
    ) -> ScoreResponse:
        if not isinstance(input_rows, builtins.list):  # a DataFrame, an Arrow table, ...
            from llama_workbench.apis.datasets.models import rows_from

            input_rows = rows_from(input_rows)
        request: ScoreRequest = _validated(
            ScoreRequest,
            {"input_rows": input_rows, "scoring_functions": dict(scoring_functions)},
        )
        if not request.scoring_functions:
            raise BadRequestError("Name at least one scoring function in scoring_functions.")
        groups: dict[str, dict[str, ScoringFnParams | None]] = {}
        providers: dict[str, ScoringProvider] = {}
        for fn_id, params in request.scoring_functions.items():
            fn = await self._table.retrieve(fn_id)
            providers[fn.provider_id] = self._table.provider_for(fn)
            groups.setdefault(fn.provider_id, {})[fn_id] = overlay_params(fn.params, params)
        responses = await gather_all(
            providers[pid].score(request.input_rows, wanted) for pid, wanted in groups.items()
        )
        merged: dict[str, ScoringResult] = {}
        for response in responses:
            merged.update(response.results)
        return ScoreResponse(results={fn_id: merged[fn_id] for fn_id in request.scoring_functions})

    async def score_batch(
        self,
        dataset_id: str,
        scoring_functions: Mapping[str, ScoringFnParams | dict[str, Any] | None],
        save_results_dataset: bool = False,
    ) -> ScoreBatchResponse:
        if self._datasetio is None:
            raise BadRequestError(
                "score_batch needs the datasetio API, which this stack does not enable: add a "
                "datasetio provider (e.g. inline::localfs) to the run config, or pass the rows "
                "to score() as input_rows."
            )
        if save_results_dataset and self._datasets is None:
            raise BadRequestError(
                "save_results_dataset needs the datasets API, which this stack does not enable."
            )
        rows = await self._read_rows(dataset_id)
        response = await self.score(rows, scoring_functions)
        saved = None
        if save_results_dataset:
            saved = await self._save(dataset_id, rows, response.results)
        return ScoreBatchResponse(dataset_id=saved or dataset_id, results=response.results)

    async def register_python_function(
        self,
        fn_id: str,
        call: Callable[[dict[str, Any]], Any],
        *,
        return_type: ParamType | str | dict[str, Any] = "number",
        aggregation_functions: builtins.list[str] | None = None,
        description: str | None = None,
        provider_id: str | None = None,
    ) -> ScoringFn:
        """Make `call(row)` a scoring function of this process (see llama_workbench.scoring)."""
        if not fn_id:
            raise BadRequestError("A scoring function needs a non-empty id.")
        checked = _validated(
            _PythonFnSpec,
            {
                "return_type": return_type,
                "params": {"aggregation_functions": aggregation_functions or []},
            },
        )
        await self._table.check_free(fn_id, python=True)
        provider = self._python_provider(provider_id)
        fn: ScoringFn = provider.register_python_function(
            fn_id, call, checked.return_type, checked.params.aggregation_functions, description
        )
        return fn

    def _python_provider(self, provider_id: str | None) -> Any:
        providers = self._table.providers
        capable = {pid: p for pid, p in providers.items() if hasattr(p, "register_python_function")}
        if provider_id is not None:
            if provider_id not in providers:
                raise NotFoundError("Scoring provider", provider_id, providers)
            if provider_id not in capable:
                raise BadRequestError(
                    f"Scoring provider '{provider_id}' can't run Python functions; inline::basic can."
                )
            return capable[provider_id]
        if len(capable) == 1:
            return next(iter(capable.values()))
        if not capable:
            raise BadRequestError(
                "Python scoring functions run in an inline::basic scoring provider; add one to "
                "the run config."
            )
        raise BadRequestError(
            f"Name the provider_id of the Python function: {', '.join(sorted(capable))} can run it."
        )

    async def _read_rows(self, dataset_id: str) -> builtins.list[dict[str, Any]]:
        rows: builtins.list[dict[str, Any]] = []
        while True:
            page = await self._datasetio.iterrows(
                dataset_id=dataset_id, start_index=len(rows), limit=self._page_size
            )
            rows.extend(dict(row) for row in page.data)
            if not page.has_more or not page.data:
                return rows

    async def _save(
        self,
        dataset_id: str,
        rows: builtins.list[dict[str, Any]],
        results: Mapping[str, ScoringResult],
    ) -> str:
        """A new dataset: each row with a column per function holding its score row."""
        scored = [
            {**row, **{fn_id: result.score_rows[i] for fn_id, result in results.items()}}
            for i, row in enumerate(rows)
        ]
        dataset = await self._datasets.register(
            dataset_id=f"{dataset_id}-scores-{uuid.uuid4().hex[:8]}",
            purpose=RESULTS_PURPOSE,
            source={"type": "rows", "rows": scored},
            metadata={"scored_dataset_id": dataset_id, "scoring_functions": list(results)},
        )
        return str(dataset.identifier)


class _PythonFnSpec(BaseModel):
    return_type: ParamType
    params: BasicScoringFnParams
