"""The one object a request becomes: who acts, for which tenant, with which rights."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from clipdex.auth.policy import role_allows, scopes_allow


@dataclass(frozen=True)
class Principal:
    tenant_id: uuid.UUID | None
    actor_type: str  # user | api_key
    actor_id: uuid.UUID
    role: str | None = None  # users only
    scopes: tuple[str, ...] = field(default_factory=tuple)  # api keys only
    is_operator: bool = False
    tenant_tier: str | None = None

    def can(self, action: str) -> bool:
        if self.actor_type == "api_key":
            return scopes_allow(self.scopes, action)
        return self.role is not None and role_allows(self.role, action)

    @property
    def actor(self) -> str:
        return f"{self.actor_type}:{self.actor_id}"
