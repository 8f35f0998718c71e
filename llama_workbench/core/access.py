"""Who is calling, and what they may do: the principal of the current request, the server's
access policy, and the checks every routed resource kind makes (denied read: 404; write: 403)."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llama_workbench.core.errors import PermissionDeniedError

if TYPE_CHECKING:
    from llama_workbench.core.policy import AccessPolicy, Action
    from llama_workbench.storage.sql import PaginatedRows, SqlStore

# Resource kinds, as Llama Stack 0.7.3 names them in `access_policy` rules (`model::*`, ...);
# its SQL-stored records are `sql_record::<table>`.
MODEL, SHIELD, VECTOR_STORE, DATASET = "model", "shield", "vector_store", "dataset"
SCORING_FUNCTION, BENCHMARK, TOOL_GROUP, PROMPT = (
    "scoring_function",
    "benchmark",
    "tool_group",
    "prompt",
)
FILE, CONVERSATION = "sql_record::openai_files", "sql_record::openai_conversations"
RESPONSE, CHAT_COMPLETION = "sql_record::responses", "sql_record::inference_store"
JOB, BATCH = "job", "batch"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a name and attributes (roles, teams, projects, namespaces...);
    the role `admin` sees and uses every resource under the default policy."""

    name: str
    roles: frozenset[str] = frozenset()
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        roles = self.roles | frozenset(self.attributes.get("roles", ()))
        attributes = {k: tuple(v) for k, v in self.attributes.items()}
        if roles:
            attributes["roles"] = tuple(sorted(roles))
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "attributes", attributes)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def values(self, attribute: str) -> tuple[str, ...]:
        """The principal's values of one attribute (empty when it has none)."""
        return self.attributes.get(attribute, ())


# None means library mode or a server without auth: everything is visible.
current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "llama_workbench_principal", default=None
)
# The server's access_policy (None: the default rules), set per request with the principal.
current_policy: contextvars.ContextVar[AccessPolicy | None] = contextvars.ContextVar(
    "llama_workbench_access_policy", default=None
)


def owner_for_new_resource() -> str | None:
    """The owner to record on a resource created now (None when nobody is authenticated)."""
    principal = current_principal.get()
    return principal.name if principal is not None else None


def can_access(owner: str | None, kind: str, identifier: str, action: Action = "read") -> bool:
    """May the caller do `action` on `kind::identifier`, owned by `owner`? Without a principal
    (library mode, auth off) always; else as the policy says (default: owner, admin, unowned)."""
    principal = current_principal.get()
    if principal is None:
        return True
    policy = current_policy.get()
    if policy is None:
        return owner is None or owner == principal.name or principal.is_admin
    return policy.allows(action, kind, identifier, owner, principal)


def check_access(owner: str | None, kind: str, identifier: str, action: Action) -> None:
    """A 403 when the caller may see the resource but not do `action` on it (call it after the
    read check, which answers 404 for what the caller may not see)."""
    if not can_access(owner, kind, identifier, action):
        raise PermissionDeniedError(
            f"Not allowed to {action} {kind.rsplit('::', 1)[-1]} '{identifier}'.",
            details={"action": action, "resource": f"{kind}::{identifier}"},
        )


def check_create(kind: str, identifier: str) -> None:
    """A 403 when the policy forbids the caller to create `kind::identifier` (owned by them)."""
    check_access(owner_for_new_resource(), kind, identifier, "create")


def owner_filter() -> dict[str, Any] | None:
    """The `where` that limits a SQL-stored kind to what the caller may read, when the default
    policy is in force ({} for admins and without auth: everything); None when a custom
    policy decides row by row (use `fetch_visible`)."""
    principal = current_principal.get()
    if principal is None:
        return {}
    if current_policy.get() is not None and not current_policy.get().is_default:  # type: ignore[union-attr]
        return None
    return {} if principal.is_admin else {"owner": principal.name}


async def fetch_visible(
    sql: SqlStore,
    table: str,
    kind: str,
    where: Mapping[str, Any] | None,
    order_by: list[tuple[str, Any]],
    limit: int | None,
    cursor: tuple[str, str] | None = None,
    *,
    id_column: str = "id",
) -> PaginatedRows:
    """One page of the rows the caller may read: filtered by the database under the default
    policy, else row by row (reading on until `limit` rows pass). Rows have an `owner`."""
    from llama_workbench.storage.sql import PaginatedRows

    condition = owner_filter()
    if condition is not None:
        return await sql.fetch_all(table, {**(where or {}), **condition}, order_by, limit, cursor)
    rows: list[dict[str, Any]] = []
    has_more = True
    while has_more and (limit is None or len(rows) < limit):
        page = await sql.fetch_all(
            table, where, order_by, None if limit is None else limit - len(rows), cursor
        )
        rows.extend(r for r in page.data if can_access(r["owner"], kind, str(r[id_column])))
        has_more = page.has_more
        if page.data:
            cursor = (id_column, str(page.data[-1][id_column]))
    return PaginatedRows(data=rows, has_more=has_more)


async def fetch_visible_one(
    sql: SqlStore, table: str, kind: str, where: Mapping[str, Any], *, id_column: str = "id"
) -> dict[str, Any] | None:
    """The row matching `where`, if the caller may read it (None otherwise: a 404 to them)."""
    condition = owner_filter()
    row = await sql.fetch_one(table, {**where, **(condition or {})})
    if row is None or condition is not None:
        return row
    return row if can_access(row["owner"], kind, str(row[id_column])) else None
