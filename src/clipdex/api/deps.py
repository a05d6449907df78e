"""Request dependencies: the platform, and the one Principal a request becomes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clipdex.auth import service as auth
from clipdex.auth.principal import Principal
from clipdex.errors import OperatorOnly
from clipdex.observability import bind_request
from clipdex.platform import Platform

bearer = HTTPBearer(auto_error=False, description="JWT access token or API key (cdx_...)")


def get_platform(request: Request) -> Platform:
    return request.app.state.platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def current_principal(request: Request, platform: PlatformDep,
                      creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    principal = auth.authenticate(platform, creds.credentials if creds else None)
    request.state.principal = principal
    bind_request(tenant_id=str(principal.tenant_id) if principal.tenant_id else None)
    return principal


Authed = Annotated[Principal, Depends(current_principal)]


def operator_principal(principal: Authed) -> Principal:
    if principal.actor_type != "user" or not principal.is_operator:
        raise OperatorOnly("Platform operators only.")
    return principal


Operator = Annotated[Principal, Depends(operator_principal)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
