"""Sign-in, token refresh, sign-out, tenant switching, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from clipdex.api import cookies
from clipdex.api.deps import Authed, PlatformDep, client_ip
from clipdex.auth import reset
from clipdex.auth import service as auth
from clipdex.schemas.auth import LoginRequest, MeResponse, RefreshRequest, SwitchRequest, TenantRef, TokenResponse

router = APIRouter(prefix="/auth", tags=["auth"])


def _out(pair: auth.TokenPair, request: Request, response: Response, platform) -> TokenResponse:
    """The token pair as JSON; in console mode the refresh token goes into its HttpOnly cookie only."""
    t = pair.tenant
    refresh_token: str | None = pair.refresh_token
    if cookies.console_mode(request):
        cookies.set_refresh(response, platform.settings, pair.refresh_token)
        refresh_token = None
    return TokenResponse(access_token=pair.access_token, refresh_token=refresh_token, expires_in=pair.expires_in,
                         tenant=_tenant_ref(t) if t else None,
                         role=pair.role)


@router.post("/login", response_model=TokenResponse, summary="Sign in with e-mail and password")
def login(body: LoginRequest, request: Request, response: Response, platform: PlatformDep) -> TokenResponse:
    return _out(auth.login(platform, body.email, body.password, body.tenant, client_ip(request)), request,
                response, platform)


@router.post("/refresh", response_model=TokenResponse,
             summary="Rotate a refresh token (from the body, or the console's cookie)")
def refresh(request: Request, response: Response, platform: PlatformDep,
            body: RefreshRequest | None = None) -> TokenResponse:
    token = cookies.refresh_token_of(request, body.refresh_token if body else None)
    return _out(auth.refresh(platform, token), request, response, platform)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a session")
def logout(request: Request, response: Response, platform: PlatformDep, body: RefreshRequest | None = None) -> None:
    if cookies.console_mode(request):
        cookies.clear_refresh(response, platform.settings)
    auth.logout(platform, cookies.refresh_token_of(request, body.refresh_token if body else None))


@router.post("/switch", response_model=TokenResponse, summary="Get tokens for another of your tenants")
def switch(body: SwitchRequest, request: Request, response: Response, principal: Authed,
           platform: PlatformDep) -> TokenResponse:
    pair = auth.switch_tenant(platform, principal, body.tenant)
    old = request.cookies.get(cookies.REFRESH_COOKIE) if cookies.console_mode(request) else None
    if old:  # the console's previous session ends with the switch (API clients log out themselves)
        auth.logout(platform, old)
    return _out(pair, request, response, platform)


@router.get("/me", response_model=MeResponse, summary="The signed-in user and their tenants")
def me(principal: Authed, platform: PlatformDep) -> MeResponse:
    p = auth.profile(platform, principal)
    return MeResponse(id=p.user.id, email=p.user.email, name=p.user.name, is_operator=p.user.is_operator,
                      tenant=_tenant_ref(p.tenant) if p.tenant else None, role=p.role,
                      tenants=[{"id": str(t.id), "name": t.name, "slug": t.slug, "role": r} for t, r in p.tenants])


def _tenant_ref(t) -> TenantRef:
    return TenantRef(id=t.id, name=t.name, slug=t.slug, tier=t.tier)


class ResetRequest(BaseModel):
    email: str = Field(min_length=3, max_length=320)


class ResetRequested(BaseModel):
    delivery: str = Field(description="email: a link was mailed if the account exists | operator: no mail "
                                      "server, an administrator makes the link (clipdex admin reset-link)")


class ResetConfirm(BaseModel):
    token: str = Field(min_length=20, max_length=2000)
    password: str = Field(min_length=1, max_length=1000)


@router.post("/password-reset", response_model=ResetRequested, status_code=status.HTTP_202_ACCEPTED,
             summary="Ask for a password reset link (same answer whether or not the account exists)")
def password_reset(body: ResetRequest, request: Request, platform: PlatformDep) -> ResetRequested:
    return ResetRequested(delivery=reset.request_reset(platform, body.email, client_ip(request)))


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT,
             summary="Set a new password with a reset link's token (signs out every session)")
def password_reset_confirm(body: ResetConfirm, platform: PlatformDep) -> None:
    reset.confirm_reset(platform, body.token, body.password)
