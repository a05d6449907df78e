"""Compliance bodies: policies in and out, the report, the verdict list."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PolicyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field("", max_length=200)
    base: str | None = Field(None, description="preset to start from: broadcast-eu | broadcast-us | streaming | kids")
    rules: dict = Field(default_factory=dict, description="per check: changes to the base's settings")
    default: bool = Field(False, description="make it the tenant's default (applies to every new video)")


class PolicyUpdate(BaseModel):
    title: str | None = Field(None, max_length=200)
    rules: dict | None = Field(None, description="per check: changes; a change makes a new version")
    default: bool | None = None


class PolicyPublic(BaseModel):
    id: uuid.UUID | None = Field(None, description="null for the presets that ship")
    name: str
    title: str
    base: str | None = None
    version: int
    rules: dict
    is_default: bool = False
    builtin: bool = False
    updated_at: str | None = None
    updated_by: str | None = None


class PolicyDetail(PolicyPublic):
    versions: list[int] = Field(default_factory=list)


class DefaultPolicy(BaseModel):
    policy: str = Field(min_length=1, max_length=64, description="a tenant policy's name or a preset's")


class DefaultChanged(BaseModel):
    policy: str
    version: int
    reevaluated: int = Field(description="stored verdicts re-derived from measurements (no media analysis)")


class Finding(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    check: str
    severity: str = Field(description="info | warning | violation")
    start_s: float
    end_s: float
    message: str
    evidence: dict
    suggestion: str


class CheckVerdict(BaseModel):
    model_config = ConfigDict(extra="allow")

    check: str
    verdict: str = Field(description="pass | warn | fail | not_measured")
    severity: str
    findings: int
    measured: dict


class Report(BaseModel):
    model_config = ConfigDict(extra="allow")

    video_id: uuid.UUID
    verdict: str = Field(description="pass | warn | fail | incomplete (a check had nothing to measure)")
    policy: dict = Field(description="name, version, builtin: the policy version the verdict used")
    counts: dict[str, int]
    checks: list[CheckVerdict]
    findings: list[Finding] = Field(description="sorted by start time")
    loudness: dict | None = Field(None, description="integrated, LRA, true peak, the 100 ms M/S series")


class ResultPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    video_id: uuid.UUID
    title: str = ""
    verdict: str
    policy_name: str
    policy_version: int
    violations: int
    warnings: int
    checks: dict
    evaluated_at: datetime
