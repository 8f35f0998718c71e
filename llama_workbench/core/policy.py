"""Access policies in Llama Stack 0.7.3's shape: rules that permit or forbid actions on resources
(`access_policy`) and on routes (`route_policy`), with its conditions (`user is owner`, ...)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, model_validator

if TYPE_CHECKING:
    from llama_workbench.core.access import Principal

Action = Literal["create", "read", "update", "delete"]
ACTIONS: tuple[Action, ...] = ("create", "read", "update", "delete")

# (owner of the resource or None, the caller) -> does the condition hold
Condition = Callable[["Principal | None", "Principal"], bool]


def _user_in_owners(name: str) -> Condition:
    def holds(owner: Principal | None, user: Principal) -> bool:
        if owner is None:
            return False
        return bool(set(owner.values(name)) & set(user.values(name)))

    return holds


def _user_with(value: str, name: str) -> Condition:
    return lambda owner, user: value in user.values(name)


def _negated(condition: Condition) -> Condition:
    return lambda owner, user: not condition(owner, user)


def parse_condition(text: str) -> Condition:
    """One of Llama Stack's conditions; a ValueError naming the forms for anything else."""
    match text.split():
        case ["user", "is", "owner"]:
            return lambda owner, user: owner is not None and owner.name == user.name
        case ["user", "is", "not", "owner"]:
            return lambda owner, user: owner is None or owner.name != user.name
        case ["user", "with", value, "in", name]:
            return _user_with(value, name)
        case ["user", "with", value, "not", "in", name]:
            return _negated(_user_with(value, name))
        case ["user", "in", "owners", name]:
            return _user_in_owners(name)
        case ["user", "not", "in", "owners", name]:
            return _negated(_user_in_owners(name))
        case ["resource", "is", "unowned"]:
            return lambda owner, user: owner is None
    raise ValueError(
        f"invalid condition {text!r}; the forms are 'user is owner', 'user is not owner', "
        "'user with <value> in <attribute>', 'user with <value> not in <attribute>', "
        "'user in owners <attribute>', 'user not in owners <attribute>', 'resource is unowned'"
    )


def _as_list(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scope(_Strict):
    """What a rule covers: actions, optionally one principal and a resource pattern
    (`model::llama-3`, `vector_store::*`, or `regex:model::(a|b)`)."""

    principal: str | None = None
    actions: Action | list[Action]
    resource: str | None = None


class RouteScope(_Strict):
    """Routes a rule covers: exact paths, `prefix*`, `*`, or `regex:<pattern>`."""

    paths: str | list[str]


class _Rule(_Strict):
    when: str | list[str] | None = None
    unless: str | list[str] | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _check(self) -> _Rule:
        permit, forbid = getattr(self, "permit"), getattr(self, "forbid")  # noqa: B009
        if (permit is None) == (forbid is None):
            raise ValueError("a rule has exactly one of permit or forbid")
        if self.when is not None and self.unless is not None:
            raise ValueError("a rule has when or unless, not both")
        for text in _as_list(self.when) + _as_list(self.unless):
            parse_condition(text)
        return self


class AccessRule(_Rule):
    """One `access_policy` rule: permit or forbid a scope, `when` or `unless` conditions hold."""

    permit: Scope | None = None
    forbid: Scope | None = None


class RouteAccessRule(_Rule):
    """One `route_policy` rule: permit or forbid routes, `when` or `unless` conditions hold."""

    permit: RouteScope | None = None
    forbid: RouteScope | None = None


@dataclass(frozen=True)
class _Compiled:
    permit: bool
    actions: frozenset[str]
    principal: str | None
    matches: Callable[[str], bool]
    when: tuple[Condition, ...]
    unless: tuple[Condition, ...]

    def applies(self, owner: Principal | None, user: Principal) -> bool:
        if self.when:
            return all(c(owner, user) for c in self.when)
        if self.unless:
            return not all(c(owner, user) for c in self.unless)
        return True


def _resource_matcher(pattern: str | None) -> Callable[[str], bool]:
    if pattern is None:
        return lambda qualified: True
    if pattern.startswith("regex:"):
        compiled = re.compile(pattern[len("regex:") :])
        return lambda qualified: compiled.match(qualified) is not None
    if pattern.endswith("::*"):
        prefix = pattern[:-1]
        return lambda qualified: qualified.startswith(prefix)
    return lambda qualified: qualified == pattern


def _route_matcher(paths: str | list[str]) -> Callable[[str], bool]:
    checks: list[Callable[[str], bool]] = []
    for pattern in _as_list(paths):
        if pattern == "*":
            return lambda route: True
        if pattern.startswith("regex:"):
            compiled = re.compile(pattern[len("regex:") :])
            checks.append(lambda route, c=compiled: c.match(route) is not None)  # type: ignore[misc]
        elif pattern.endswith("*"):
            checks.append(lambda route, p=pattern[:-1]: route.startswith(p))  # type: ignore[misc]
        else:
            checks.append(lambda route, p=pattern: route == p)  # type: ignore[misc]
    return lambda route: any(check(route) for check in checks)


def _compile(rule: AccessRule | RouteAccessRule) -> _Compiled:
    scope = rule.permit if rule.permit is not None else rule.forbid
    assert scope is not None  # the model's validator guarantees one of them
    if isinstance(scope, Scope):
        actions = frozenset(_as_list(scope.actions))  # type: ignore[arg-type]
        principal, matches = scope.principal, _resource_matcher(scope.resource)
    else:
        actions, principal, matches = frozenset(ACTIONS), None, _route_matcher(scope.paths)
    return _Compiled(
        permit=rule.permit is not None,
        actions=actions,
        principal=principal,
        matches=matches,
        when=tuple(parse_condition(c) for c in _as_list(rule.when)),
        unless=tuple(parse_condition(c) for c in _as_list(rule.unless)),
    )


OwnerLookup = Callable[[str], "Principal"]


class AccessPolicy:
    """Rules tested in order; the first that matches decides; none matching denies.

    Without rules, the default: admins may do anything, others anything on what they own or
    what nobody owns (the server's behaviour before policies). `owners` turns an owner's name
    into a principal with the attributes that owner was last seen with.
    """

    def __init__(self, rules: Sequence[AccessRule], owners: OwnerLookup) -> None:
        self.rules = list(rules)
        self.is_default = not rules
        self._compiled = [_compile(r) for r in rules] or [_compile(r) for r in _DEFAULT]
        self._owners = owners

    def allows(
        self, action: Action, kind: str, identifier: str, owner: str | None, user: Principal
    ) -> bool:
        """May `user` do `action` on the resource `kind::identifier` owned by `owner`?"""
        if self.is_default:  # the default rules, evaluated without building anything
            return owner is None or owner == user.name or user.is_admin
        qualified = f"{kind}::{identifier}"
        owned_by = self._owners(owner) if owner is not None else None
        for rule in self._compiled:
            if action not in rule.actions or not rule.matches(qualified):
                continue
            if rule.principal is not None and rule.principal != user.name:
                continue
            if rule.applies(owned_by, user):
                return rule.permit
        return False


class RoutePolicy:
    """`route_policy`: with no rules every route is open; else the first matching rule decides
    and a route no rule matches is denied. Conditions need an authenticated caller."""

    def __init__(self, rules: Sequence[RouteAccessRule]) -> None:
        self._compiled = [_compile(r) for r in rules]

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def allows(self, path: str, user: Principal | None) -> bool:
        route = path.rstrip("/") if path != "/" else path
        for rule in self._compiled:
            if not rule.matches(route):
                continue
            if (rule.when or rule.unless) and (user is None or not rule.applies(None, user)):
                continue
            return rule.permit
        return False


_ALL: list[Action] = list(ACTIONS)
_DEFAULT = [
    AccessRule(permit=Scope(actions=_ALL), when="user with admin in roles"),
    AccessRule(permit=Scope(actions=_ALL), when="user is owner"),
    AccessRule(permit=Scope(actions=_ALL), when="resource is unowned"),
]


def attributes_from_claims(
    claims: Mapping[str, object], mapping: Mapping[str, str]
) -> dict[str, list[str]]:
    """Token claims -> principal attributes, as `claims_mapping` says (`a.b` reaches nested
    claims; a string claim is split on spaces, as OAuth's `scope` is)."""
    attributes: dict[str, list[str]] = {}
    for claim, attribute in mapping.items():
        value: object = claims
        for part in claim.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            value = claims.get(claim)
        if isinstance(value, str):
            values = value.split()
        elif isinstance(value, list):
            values = [str(v) for v in value]
        else:
            continue
        attributes.setdefault(attribute, []).extend(values)
    return attributes


__all__ = [
    "ACTIONS",
    "AccessPolicy",
    "AccessRule",
    "Action",
    "RouteAccessRule",
    "RoutePolicy",
    "Scope",
    "attributes_from_claims",
    "parse_condition",
]
