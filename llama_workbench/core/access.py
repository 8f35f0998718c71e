"""Who is calling: the principal of the current request, and which resources it may see."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; `admin` sees and uses every resource."""

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


# None means library mode or a server without auth: everything is visible.
current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "llama_workbench_principal", default=None
)


def owner_for_new_resource() -> str | None:
    """The owner to record on a resource created now (None when nobody is authenticated)."""
    principal = current_principal.get()
    return principal.name if principal is not None else None


def can_access(owner: str | None) -> bool:
    """Resources without an owner are shared; owned ones are visible to their owner and admins."""
    principal = current_principal.get()
    return owner is None or principal is None or principal.is_admin or principal.name == owner
