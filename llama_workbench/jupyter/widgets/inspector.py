"""`StackInspector`: a stack's APIs, their providers (secrets masked) and resources, with health."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import traitlets

from llama_workbench.core.redact import redact
from llama_workbench.jupyter.widgets._base import JS_DIR, StackWidget

if TYPE_CHECKING:
    from llama_workbench.core.stack import Stack

# Which routed API serves each kind of resource.
_RESOURCE_API = {"model": "inference", "shield": "safety", "vector_store": "vector_io"}


class StackInspector(StackWidget):
    """The stack as a tree: API -> providers (type, health, config) -> resources.

    Provider configs are shown with every secret masked: SecretStr values, values of keys named
    like credentials (api_key, token, password, Authorization...), and passwords inside URLs.
    """

    _esm = JS_DIR / "inspector.js"
    _css = JS_DIR / "inspector.css"
    _actions = {"refresh": "refresh"}

    distro = traitlets.Unicode("").tag(sync=True)
    version = traitlets.Unicode("").tag(sync=True)
    health = traitlets.Unicode("").tag(sync=True)
    # [{api, providers: [{provider_id, provider_type, health, config, resources: [...]}]}]
    tree = traitlets.List(traitlets.Dict()).tag(sync=True)
    counts = traitlets.Dict().tag(sync=True)  # resources by kind
    engine = traitlets.Unicode("").tag(sync=True)  # where jobs run: in-process, or Ray's nodes

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack, distro=stack.config.distro_name or "")
        self._load()

    def refresh(self) -> None:
        """Read everything again (in the background)."""
        self.error = ""
        self._submit(self._load)

    def _load(self) -> None:
        stack = self._stack
        self.health = str(stack.inspect.health().status)
        self.version = str(stack.inspect.version().version)
        from llama_workbench.execution.engine import stack_engine_info

        self.engine = stack_engine_info(stack).line()
        resources = self._resources()
        self.counts = {kind: len(rows) for kind, rows in resources.items()}
        by_api: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for p in stack.providers.list():
            owned = [
                r
                for kind, rows in resources.items()
                if _RESOURCE_API[kind] == p.api
                for r in rows
                if r["provider_id"] == p.provider_id
            ]
            by_api[p.api].append(
                {
                    "provider_id": p.provider_id,
                    "provider_type": p.provider_type,
                    "health": redact(p.health),
                    "config": redact(p.config),
                    "resources": owned,
                }
            )
        self.tree = [
            {"api": api.value, "providers": by_api.get(api.value, [])} for api in stack.apis
        ]

    def _resources(self) -> dict[str, list[dict[str, Any]]]:
        stack, apis = self._stack, {a.value for a in self._stack.apis}
        found: dict[str, list[dict[str, Any]]] = {}
        if "models" in apis:
            found["model"] = [
                _row("model", m.identifier, m.provider_id, m.model_type.value)
                for m in stack.models.list()
            ]
        if "shields" in apis:
            found["shield"] = [
                _row("shield", s.identifier, s.provider_id, s.provider_resource_id)
                for s in stack.shields.list()
            ]
        if "vector_io" in apis:
            found["vector_store"] = [
                _row(
                    "vector_store",
                    v.id,
                    str(v.metadata.get("provider_id", "")),
                    f"{v.name or ''} ({v.file_counts.completed} files)".strip(),
                )
                for v in stack.vector_io.list_vector_stores(limit=100).data
            ]
        return found

    def summary(self) -> str:
        counts = ", ".join(f"{n} {kind}s" for kind, n in self.counts.items()) or "no resources"
        lines = [
            f"StackInspector: distro {self.distro or '(unnamed)'}, version {self.version}, "
            f"health {self.health}; {counts}",
            f"  jobs: {self.engine}",
        ]
        for node in self.tree:
            providers = node["providers"]
            lines.append(f"  {node['api']}" + ("" if providers else " (built in)"))
            for p in providers:
                lines.append(
                    f"    {p['provider_id']} ({p['provider_type']}): "
                    f"{p['health'].get('status', '?')}"
                )
                lines += [f"      {r['kind']} {r['id']} {r['detail']}" for r in p["resources"]]
        return "\n".join(lines)


def _row(kind: str, identifier: str, provider_id: str, detail: str) -> dict[str, Any]:
    return {"kind": kind, "id": identifier, "provider_id": provider_id, "detail": detail}
