"""Access and route policies (Llama Stack 0.7.3's rules): each condition, scope and rule kind."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from llama_workbench.core.access import (
    MODEL,
    Principal,
    can_access,
    check_access,
    current_policy,
    current_principal,
    fetch_visible,
    fetch_visible_one,
)
from llama_workbench.core.errors import PermissionDeniedError
from llama_workbench.core.policy import (
    AccessPolicy,
    AccessRule,
    RouteAccessRule,
    RoutePolicy,
    attributes_from_claims,
    parse_condition,
)

ALICE = Principal("alice", attributes={"teams": ("a",), "roles": ("dev",)})
CAROL = Principal("carol", attributes={"teams": ("a", "c")})
BOB = Principal("bob", attributes={"teams": ("b",)})
ADMIN = Principal("root", frozenset({"admin"}))
OWNERS = {p.name: p for p in (ALICE, CAROL, BOB, ADMIN)}


def policy(*rules: dict[str, object]) -> AccessPolicy:
    return AccessPolicy(
        [AccessRule.model_validate(r) for r in rules], lambda n: OWNERS.get(n, Principal(n))
    )


ALL = ["create", "read", "update", "delete"]


@pytest.mark.parametrize(
    ("condition", "owner", "user", "holds"),
    [
        ("user is owner", ALICE, ALICE, True),
        ("user is owner", ALICE, BOB, False),
        ("user is owner", None, BOB, False),
        ("user is not owner", ALICE, BOB, True),
        ("user is not owner", None, BOB, True),
        ("user is not owner", ALICE, ALICE, False),
        ("user in owners teams", ALICE, CAROL, True),
        ("user in owners teams", ALICE, BOB, False),
        ("user in owners teams", None, CAROL, False),
        ("user not in owners teams", ALICE, BOB, True),
        ("user not in owners teams", ALICE, CAROL, False),
        ("user with dev in roles", None, ALICE, True),
        ("user with dev in roles", None, BOB, False),
        ("user with dev not in roles", None, BOB, True),
        ("resource is unowned", None, BOB, True),
        ("resource is unowned", ALICE, BOB, False),
    ],
)
def test_conditions(condition: str, owner: Principal | None, user: Principal, holds: bool) -> None:
    assert parse_condition(condition)(owner, user) is holds


def test_bad_rules_are_refused_with_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="invalid condition 'user is boss'"):
        AccessRule.model_validate({"permit": {"actions": ["read"]}, "when": "user is boss"})
    with pytest.raises(ValidationError, match="exactly one of permit or forbid"):
        AccessRule.model_validate({"when": "user is owner"})
    with pytest.raises(ValidationError, match="when or unless, not both"):
        AccessRule.model_validate(
            {"permit": {"actions": ["read"]}, "when": "user is owner", "unless": "user is owner"}
        )
    with pytest.raises(ValidationError, match="actions"):
        AccessRule.model_validate({"permit": {"actions": ["publish"]}})
    with pytest.raises(ValidationError, match="resources"):  # a typo of a key is named
        AccessRule.model_validate({"permit": {"actions": ["read"], "resources": "model::*"}})


def test_first_matching_rule_decides_and_none_denies() -> None:
    p = policy(
        {"forbid": {"actions": ["delete"]}, "when": "user is not owner"},
        {"permit": {"actions": ALL}, "when": "user with admin in roles"},
        {"permit": {"actions": ALL}, "when": "user is owner"},
        {"permit": {"actions": ["read"]}, "when": "user in owners teams"},
    )
    assert p.allows("read", MODEL, "m", "alice", CAROL)  # team mate
    assert not p.allows("update", MODEL, "m", "alice", CAROL)
    assert not p.allows("read", MODEL, "m", "alice", BOB)  # no rule matches: denied
    assert p.allows("update", MODEL, "m", "alice", ADMIN)
    assert not p.allows("delete", MODEL, "m", "alice", ADMIN)  # the forbid comes first
    assert p.allows("delete", MODEL, "m", "alice", ALICE)


def test_scopes_principal_and_resource_patterns() -> None:
    p = policy(
        {"permit": {"principal": "bob", "actions": ["read"], "resource": "model::shared"}},
        {"permit": {"actions": ["read"], "resource": "vector_store::*"}},
        {"forbid": {"actions": ["create"], "resource": "regex:model::(tmp|scratch)-.*"}},
        {"permit": {"actions": ["create"]}},
    )
    assert p.allows("read", MODEL, "shared", "alice", BOB)
    assert not p.allows("read", MODEL, "shared", "alice", CAROL)  # another principal
    assert not p.allows("read", MODEL, "other", "alice", BOB)  # another resource
    assert p.allows("read", "vector_store", "vs_1", "alice", CAROL)
    assert not p.allows("read", "vector_stores", "vs_1", "alice", CAROL)  # kind must match
    assert not p.allows("create", MODEL, "tmp-1", "bob", BOB)
    assert p.allows("create", MODEL, "keep-1", "bob", BOB)


def test_unless_applies_the_rule_unless_every_condition_holds() -> None:
    p = policy(
        {
            "forbid": {"actions": ALL, "resource": "vector_store::*"},
            "unless": "user with admin in roles",
        },
        {"permit": {"actions": ALL}},
    )
    assert not p.allows("read", "vector_store", "v", None, ALICE)
    assert p.allows("read", "vector_store", "v", None, ADMIN)
    assert p.allows("read", MODEL, "m", None, ALICE)


def test_default_policy_owners_admins_and_unowned() -> None:
    p = policy()
    assert p.is_default
    assert p.allows("delete", MODEL, "m", "alice", ALICE)
    assert not p.allows("read", MODEL, "m", "alice", CAROL)
    assert p.allows("delete", MODEL, "m", "alice", ADMIN)
    assert p.allows("read", MODEL, "m", None, BOB)


def test_route_policy() -> None:
    routes = RoutePolicy(
        [
            RouteAccessRule.model_validate(r)
            for r in [
                {"forbid": {"paths": ["/v1/providers*"]}, "unless": "user with admin in roles"},
                {"permit": {"paths": "regex:/v1/(chat|models).*"}, "when": "user with a in teams"},
                {"permit": {"paths": "/v1/files"}},
            ]
        ]
    )
    assert not routes.allows("/v1/providers", BOB) and routes.allows("/v1/files/", BOB)
    assert not routes.allows("/v1/providers/x", None)  # conditions need a caller
    assert routes.allows("/v1/chat/completions", ALICE)
    assert not routes.allows("/v1/chat/completions", BOB)
    assert not routes.allows("/v1/batches", ADMIN)  # no rule matches: denied
    assert not RoutePolicy([])  # no rules: the middleware lets every route through


def test_claims_mapping() -> None:
    claims = {
        "sub": "alice",
        "groups": ["a", "b"],
        "scope": "read write",
        "realm": {"roles": ["dev"]},
        "x.y": "flat",
    }
    mapping = {"groups": "teams", "scope": "scopes", "realm.roles": "roles", "x.y": "misc"}
    assert attributes_from_claims(claims, mapping) == {
        "teams": ["a", "b"],
        "scopes": ["read", "write"],
        "roles": ["dev"],
        "misc": ["flat"],
    }


@contextlib.contextmanager
def caller(principal: Principal | None, p: AccessPolicy | None) -> Iterator[None]:
    tokens = current_principal.set(principal), current_policy.set(p)
    try:
        yield
    finally:
        current_policy.reset(tokens[1])
        current_principal.reset(tokens[0])


def test_checks_read_404_and_write_403() -> None:
    team_read = policy(
        {"permit": {"actions": ALL}, "when": "user is owner"},
        {"permit": {"actions": ["read"]}, "when": "user in owners teams"},
    )
    with caller(CAROL, team_read):
        assert can_access("alice", MODEL, "m")
        with pytest.raises(PermissionDeniedError, match="Not allowed to delete model 'm'"):
            check_access("alice", MODEL, "m", "delete")
    with caller(BOB, None):
        assert not can_access("alice", MODEL, "m") and can_access(None, MODEL, "m")
    with caller(None, team_read):  # library mode: no principal, no checks
        assert can_access("alice", MODEL, "m", "delete")


async def test_sql_rows_filtered_row_by_row_under_a_custom_policy(tmp_path: Path) -> None:
    from llama_workbench.storage.config import SqliteSqlConfig
    from llama_workbench.storage.sql import ColumnDefinition, ColumnType, SqlStore

    sql = SqlStore(SqliteSqlConfig(db_path=str(tmp_path / "t.db")))
    schema = {
        "id": ColumnDefinition(ColumnType.STRING, primary_key=True),
        "n": ColumnType.INTEGER,
        "owner": ColumnType.STRING,
    }
    await sql.create_table("t", schema)
    owners = ["alice", "bob", "carol", None, "alice", "bob", "alice"]
    await sql.insert("t", [{"id": f"r{i}", "n": i, "owner": o} for i, o in enumerate(owners)])
    order = [("n", "asc")]
    team_read = policy({"permit": {"actions": ["read"]}, "when": "user in owners teams"})
    try:
        with caller(CAROL, team_read):
            page = await fetch_visible(sql, "t", "thing", None, order, 2)
            assert [r["id"] for r in page.data] == ["r0", "r2"] and page.has_more
            page = await fetch_visible(sql, "t", "thing", None, order, 2, ("id", "r2"))
            assert [r["id"] for r in page.data] == ["r4", "r6"] and not page.has_more
            assert await fetch_visible_one(sql, "t", "thing", {"id": "r1"}) is None
        with caller(BOB, None):  # the default policy: the database filters
            page = await fetch_visible(sql, "t", "thing", None, order, 10)
            assert [r["id"] for r in page.data] == ["r1", "r5"]
            assert (await fetch_visible_one(sql, "t", "thing", {"id": "r3"})) is None
    finally:
        await sql.close()
