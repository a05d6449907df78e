"""Auth request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class LoginRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "email": "owner@example.com", "password": "correct horse battery", "tenant": "acme"}})

    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    tenant: str | None = Field(None, max_length=64, description="tenant slug or id; default: the first")


class TenantRef(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    tier: str


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str | None = Field(None, description="absent for the console, whose refresh token is in "
                                                        "an HttpOnly cookie")
    token_type: str = "bearer"
    expires_in: int
    tenant: TenantRef | None
    role: str | None


class RefreshRequest(BaseModel):
    refresh_token: str | None = Field(None, max_length=512, description="omit in the console (cookie)")


class SwitchRequest(BaseModel):
    tenant: str = Field(max_length=64)


class MeResponse(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    is_operator: bool
    tenant: TenantRef | None
    role: str | None
    tenants: list[dict]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"name": "ingest bot", "scopes": ["read", "write"]}})

    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(default_factory=lambda: ["read"], min_length=1)
    expires_at: datetime | None = None


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    secret: str = Field(description="shown once; store it now")


class InvitationCreate(BaseModel):
    email: EmailStr
    role: str = Field("member", pattern="^(viewer|member|admin|owner)$")


class InvitationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None


class InvitationCreated(InvitationPublic):
    token: str = Field(description="send to the invitee; shown once")


class InvitationAccept(BaseModel):
    token: str = Field(max_length=512)
    password: str | None = Field(None, max_length=1024, description="required when the e-mail has no account")
    name: str = Field("", max_length=200)


class MemberPublic(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str
    role: str
    joined_at: datetime


class MemberUpdate(BaseModel):
    role: str = Field(pattern="^(viewer|member|admin|owner)$")


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    actor: str
    action: str
    target: str
    ip: str
    request_id: str
    details: dict
