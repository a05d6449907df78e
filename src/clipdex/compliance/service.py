"""Compliance in the database: tenant policies and their versions, the default, stored verdicts.

Callers pass a tenant-scoped session; rows are always filtered by ``tenant_id`` as well (the ORM
guard and RLS back that up).
"""

from __future__ import annotations

import json
import re
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipdex.compliance import policies
from clipdex.compliance.evaluate import evaluate
from clipdex.db.types import utcnow
from clipdex.errors import NotAnalyzed, NotFound, PolicyExists, UnknownPolicy
from clipdex.models import Artifact, CompliancePolicy, CompliancePolicyVersion, ComplianceResult, Video
from clipdex.tenancy.access import owned_by

STAGE, MEASUREMENTS = "compliance", "measurements.json"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def as_dict(p: CompliancePolicy, rules: dict | None = None, version: int | None = None) -> dict:
    return {"id": str(p.id), "name": p.name, "title": p.title, "base": p.base, "version": version or p.version,
            "rules": rules if rules is not None else p.rules, "is_default": p.is_default, "builtin": False,
            "updated_at": p.updated_at.isoformat() if p.updated_at else None, "updated_by": p.updated_by}


def _by_name(s: Session, tenant_id: uuid.UUID, name: str) -> CompliancePolicy | None:
    return s.scalar(select(CompliancePolicy).where(owned_by(CompliancePolicy, tenant_id),
                                                   CompliancePolicy.name == name))


def get_policy(s: Session, tenant_id: uuid.UUID, policy_id: uuid.UUID) -> CompliancePolicy:
    p = s.scalar(select(CompliancePolicy).where(owned_by(CompliancePolicy, tenant_id),
                                                CompliancePolicy.id == policy_id))
    if p is None:
        raise NotFound()
    return p


def list_policies(s: Session, tenant_id: uuid.UUID, default_preset: str) -> list[dict]:
    own = s.scalars(select(CompliancePolicy).where(owned_by(CompliancePolicy, tenant_id))
                    .order_by(CompliancePolicy.name)).all()
    names = {p.name for p in own}
    has_default = any(p.is_default for p in own)
    out = [as_dict(p) for p in own]
    for name in policies.PRESETS:
        if name not in names:
            out.append(policies.preset(name) | {"is_default": not has_default and name == default_preset})
    return out


def resolve(s: Session, tenant_id: uuid.UUID, name: str | None, version: int | None, default_preset: str) -> dict:
    """The policy a report uses: a tenant policy (a given version or the current), a preset, or the default."""
    if not name:
        p = s.scalar(select(CompliancePolicy).where(owned_by(CompliancePolicy, tenant_id),
                                                    CompliancePolicy.is_default.is_(True)))
        if p is None:
            return policies.preset(default_preset) or policies.preset("streaming")
        name = p.name
    p = _by_name(s, tenant_id, name)
    if p is not None:
        if version is None or version == p.version:
            return as_dict(p)
        v = s.scalar(select(CompliancePolicyVersion).where(owned_by(CompliancePolicyVersion, tenant_id),
                                                           CompliancePolicyVersion.policy_id == p.id,
                                                           CompliancePolicyVersion.version == version))
        if v is None:
            raise UnknownPolicy("The policy has no such version.")
        return as_dict(p, v.rules, v.version)
    pre = policies.preset(name)
    if pre is None or (version not in (None, 1)):
        raise UnknownPolicy("No policy of that name (neither the tenant's nor a preset).")
    return pre


def create_policy(s: Session, tenant_id: uuid.UUID, actor: str, name: str, title: str, base: str | None,
                  rules: dict | None, default: bool) -> CompliancePolicy:
    if not NAME.match(name or ""):
        raise policies.PolicyInvalid("name: lowercase letters, digits and dashes, at most 64.", field="name")
    if _by_name(s, tenant_id, name) is not None:
        raise PolicyExists(f"A policy named '{name}' exists; update it instead.")
    start = policies.preset(base or "streaming")
    if start is None:
        raise policies.PolicyInvalid(f"Unknown base preset '{str(base)[:64]}'.", field="base")
    full = policies.merged(start["rules"], rules)
    p = CompliancePolicy(tenant_id=tenant_id, name=name, title=title or start["title"], base=base or "streaming",
                         version=1, rules=full, updated_by=actor)
    s.add(p)
    s.flush()
    s.add(CompliancePolicyVersion(tenant_id=tenant_id, policy_id=p.id, version=1, rules=full, created_by=actor))
    if default:
        set_default(s, tenant_id, p)
    s.flush()
    return p


def update_policy(s: Session, p: CompliancePolicy, actor: str, title: str | None, rules: dict | None,
                  default: bool | None) -> CompliancePolicy:
    """A new version when the rules change (the old ones stay, for reports that used them)."""
    if rules is not None:
        full = policies.merged(p.rules, rules)
        if full != p.rules:
            p.version += 1
            p.rules = full
            s.add(CompliancePolicyVersion(tenant_id=p.tenant_id, policy_id=p.id, version=p.version, rules=full,
                                          created_by=actor))
    if title is not None:
        p.title = title[:200]
    p.updated_by = actor
    if default:
        set_default(s, p.tenant_id, p)
    elif default is False:
        p.is_default = False
    s.flush()
    return p


def set_default(s: Session, tenant_id: uuid.UUID, p: CompliancePolicy) -> None:
    for other in s.scalars(select(CompliancePolicy).where(owned_by(CompliancePolicy, tenant_id),
                                                          CompliancePolicy.is_default.is_(True))):
        other.is_default = other.id == p.id
    p.is_default = True


def make_default(s: Session, tenant_id: uuid.UUID, actor: str, name: str) -> CompliancePolicy:
    """The tenant's policy ``name`` becomes the default; a preset's name first becomes a tenant policy."""
    p = _by_name(s, tenant_id, name)
    if p is None:
        if name not in policies.PRESETS:
            raise UnknownPolicy("No policy of that name (neither the tenant's nor a preset).")
        p = create_policy(s, tenant_id, actor, name, "", name, None, True)
    set_default(s, tenant_id, p)
    s.flush()
    return p


def load_measurements(platform, s: Session, video_id: uuid.UUID) -> dict:
    a = s.scalar(select(Artifact).where(Artifact.video_id == video_id, Artifact.stage == STAGE,
                                        Artifact.name == MEASUREMENTS))
    if a is None:
        raise NotAnalyzed("This video has not been measured for compliance (yet).")
    with platform.blobs.open(a.blob_key) as f:
        return json.load(f)


def store_result(s: Session, tenant_id: uuid.UUID, video_id: uuid.UUID, report: dict) -> None:
    name, version = report["policy"]["name"], int(report["policy"].get("version") or 1)
    row = s.scalar(select(ComplianceResult).where(
        owned_by(ComplianceResult, tenant_id), ComplianceResult.video_id == video_id,
        ComplianceResult.policy_name == name, ComplianceResult.policy_version == version))
    if row is None:
        row = ComplianceResult(tenant_id=tenant_id, video_id=video_id, policy_name=name, policy_version=version)
        s.add(row)
    row.verdict = report["verdict"]
    row.violations = report["counts"]["violation"]
    row.warnings = report["counts"]["warning"]
    row.checks = {c["check"]: c["verdict"] for c in report["checks"]}
    row.evaluated_at = utcnow()
    s.flush()


def reevaluate_tenant(platform, s: Session, tenant_id: uuid.UUID, limit: int) -> int:
    """Re-derive every stored verdict against the tenant's current default (no media analysis)."""
    policy = resolve(s, tenant_id, None, None, platform.settings.compliance_default_policy)
    arts = s.scalars(select(Artifact).join(Video, Video.id == Artifact.video_id).where(
        owned_by(Artifact, tenant_id), Artifact.stage == STAGE, Artifact.name == MEASUREMENTS)
        .order_by(Artifact.created_at.desc()).limit(limit)).all()
    for a in arts:
        with platform.blobs.open(a.blob_key) as f:
            store_result(s, tenant_id, a.video_id, evaluate(json.load(f), policy))
    return len(arts)


def videos_with_verdict(s: Session, tenant_id: uuid.UUID, verdict: str, default_preset: str) -> set[uuid.UUID]:
    """Ids of the tenant's videos whose stored verdict against its current default policy is ``verdict``."""
    default = resolve(s, tenant_id, None, None, default_preset)
    return set(s.scalars(select(ComplianceResult.video_id).where(
        owned_by(ComplianceResult, tenant_id), ComplianceResult.verdict == verdict,
        ComplianceResult.policy_name == default["name"],
        ComplianceResult.policy_version == int(default.get("version") or 1))))
