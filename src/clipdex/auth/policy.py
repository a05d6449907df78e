"""Who may do what: a table of role -> actions, and API-key scope -> actions."""

from __future__ import annotations

ROLES = ("viewer", "member", "admin", "owner")

READ_ACTIONS = frozenset({"video:read", "job:read", "usage:read", "tenant:read"})
WRITE_ACTIONS = frozenset({"video:write", "video:delete", "job:write"})
ADMIN_ACTIONS = frozenset({"member:read", "member:manage", "apikey:manage", "audit:read",
                           "compliance:manage",  # compliance: edit policies, pick the default
                           "tenant:export"})  # download everything the tenant has (GET /tenant/export)
OWNER_ACTIONS = frozenset({"tenant:update", "member:manage_owner", "tenant:delete"})

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "viewer": READ_ACTIONS,
    "member": READ_ACTIONS | WRITE_ACTIONS,
    "admin": READ_ACTIONS | WRITE_ACTIONS | ADMIN_ACTIONS,
    "owner": READ_ACTIONS | WRITE_ACTIONS | ADMIN_ACTIONS | OWNER_ACTIONS,
}

# API keys automate content work; they never manage people, keys or the tenant itself.
SCOPE_ACTIONS: dict[str, frozenset[str]] = {
    "read": READ_ACTIONS,
    "write": WRITE_ACTIONS,
}

ALL_ACTIONS = frozenset().union(*ROLE_ACTIONS.values())


def role_allows(role: str, action: str) -> bool:
    return action in ROLE_ACTIONS.get(role, frozenset())


def scopes_allow(scopes: list[str] | tuple[str, ...], action: str) -> bool:
    return any(action in SCOPE_ACTIONS.get(s, frozenset()) for s in scopes)


def role_rank(role: str) -> int:
    return ROLES.index(role)
