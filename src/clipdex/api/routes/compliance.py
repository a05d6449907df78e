"""Compliance: a video's report against a policy (JSON, HTML, PDF), videos by verdict, policy editing.

Reports are derived on each request from the measurements the compliance stage stored and the
policy asked for (``?policy=&version=``; default: the tenant's default policy), so switching
policies never re-runs media analysis.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from clipdex.api.deps import Authed, PlatformDep
from clipdex.api.pagination import PageParams, paginate
from clipdex.auth import service as auth
from clipdex.compliance import report as rendering
from clipdex.compliance import service
from clipdex.compliance.evaluate import evaluate
from clipdex.models import Artifact, CompliancePolicy, CompliancePolicyVersion, ComplianceResult, Video
from clipdex.schemas.common import Page
from clipdex.schemas.compliance import (DefaultChanged, DefaultPolicy, PolicyCreate, PolicyDetail, PolicyPublic,
                                        PolicyUpdate, Report, ResultPublic)
from clipdex.storage import presign
from clipdex.tenancy import access, audit

router = APIRouter(tags=["compliance"])

PolicyQ = Annotated[str | None, Query(max_length=64, description="policy name (tenant policy or preset)")]
VersionQ = Annotated[int | None, Query(ge=1, le=1_000_000, description="policy version (default: current)")]


def _report(platform, principal, video_id: uuid.UUID, policy: str | None, version: int | None,
            *, images: bool = False) -> dict:
    with access.session_for(platform, principal, readonly=True) as s:
        v = access.get_video_for(s, principal, video_id, "video:read")
        m = service.load_measurements(platform, s, v.id)
        pol = service.resolve(s, v.tenant_id, policy, version, platform.settings.compliance_default_policy)
        rep = evaluate(m, pol) | {"video_id": str(v.id), "title": v.title or v.filename}
        keys = {a.name: a.blob_key for a in s.scalars(select(Artifact).where(
            Artifact.video_id == v.id, Artifact.stage == service.STAGE, Artifact.name.like("evidence-%")))}
    for f in rep["findings"]:
        name = f["evidence"].get("thumbnail")
        if name in keys:
            if images:
                with platform.blobs.open(keys[name]) as fh:
                    f["thumbnail_bytes"] = fh.read()
            else:
                f["evidence"]["thumbnail_url"] = presign.blob_link(platform, keys[name], filename=name)
    return rep


@router.get("/videos/{video_id}/compliance", response_model=Report, summary="The video's compliance report (JSON)")
def get_report(video_id: uuid.UUID, principal: Authed, platform: PlatformDep, policy: PolicyQ = None,
               version: VersionQ = None) -> dict:
    return _report(platform, principal, video_id, policy, version)


@router.get("/videos/{video_id}/compliance.html", response_class=HTMLResponse,
            summary="The compliance report as a printable HTML page")
def get_report_html(video_id: uuid.UUID, principal: Authed, platform: PlatformDep, policy: PolicyQ = None,
                    version: VersionQ = None) -> HTMLResponse:
    rep = _report(platform, principal, video_id, policy, version, images=True)
    return HTMLResponse(rendering.html(rep), headers={"Content-Security-Policy": "default-src 'none'; "
                                                      "img-src data:; style-src 'unsafe-inline'"})


@router.get("/videos/{video_id}/compliance.pdf", summary="The compliance report as a PDF for sign-off",
            responses={200: {"content": {"application/pdf": {}}}})
def get_report_pdf(video_id: uuid.UUID, principal: Authed, platform: PlatformDep, policy: PolicyQ = None,
                   version: VersionQ = None) -> Response:
    rep = _report(platform, principal, video_id, policy, version, images=True)
    return Response(rendering.pdf(rep), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="compliance-{video_id}.pdf"'})


@router.get("/compliance", response_model=Page[ResultPublic],
            summary="The tenant's videos by compliance verdict against its current default policy")
def list_results(principal: Authed, platform: PlatformDep, page: PageParams,
                 verdict: Literal["pass", "warn", "fail", "incomplete"] | None = None) -> Page[ResultPublic]:
    query = access.list_owned(principal, ComplianceResult, "video:read")
    if verdict:
        query = query.where(ComplianceResult.verdict == verdict)
    with access.session_for(platform, principal, readonly=True) as s:
        default = service.resolve(s, access.tenant_of(principal), None, None,
                                  platform.settings.compliance_default_policy)
        query = query.where(ComplianceResult.policy_name == default["name"],
                            ComplianceResult.policy_version == int(default.get("version") or 1))
        r = paginate(s, query, ComplianceResult, page, sort="-evaluated_at")
        titles = dict(s.execute(select(Video.id, Video.title).where(Video.id.in_([x.video_id for x in r.items]))).all())
        return Page(items=[ResultPublic.model_validate(x).model_copy(update={"title": titles.get(x.video_id) or ""})
                           for x in r.items], next_cursor=r.next_cursor)


@router.get("/compliance/policies", response_model=list[PolicyPublic],
            summary="The tenant's policies and the presets, with the default marked")
def list_policies(principal: Authed, platform: PlatformDep) -> list[dict]:
    auth.ensure(principal, "video:read")
    with access.session_for(platform, principal, readonly=True) as s:
        return service.list_policies(s, access.tenant_of(principal), platform.settings.compliance_default_policy)


@router.post("/compliance/policies", response_model=PolicyPublic, status_code=status.HTTP_201_CREATED,
             summary="Create a policy from a preset with changes")
def create_policy(body: PolicyCreate, principal: Authed, platform: PlatformDep) -> dict:
    auth.ensure(principal, "compliance:manage")
    with access.session_for(platform, principal) as s:
        p = service.create_policy(s, access.tenant_of(principal), principal.actor, body.name, body.title, body.base,
                                  body.rules, body.default)
        audit.record(s, "compliance.policy_created", actor=principal.actor, tenant_id=p.tenant_id,
                     target=f"compliance_policy:{p.id}", name=p.name)
        _after_default_change(platform, s, p.tenant_id, body.default)
        return service.as_dict(p)


@router.get("/compliance/policies/{policy_id}", response_model=PolicyDetail, summary="A policy and its versions")
def get_policy(policy_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> dict:
    with access.session_for(platform, principal, readonly=True) as s:
        p = access.get_owned(s, principal, CompliancePolicy, policy_id, "video:read")
        versions = s.scalars(select(CompliancePolicyVersion.version).where(
            CompliancePolicyVersion.policy_id == p.id).order_by(CompliancePolicyVersion.version)).all()
        return service.as_dict(p) | {"versions": list(versions)}


@router.put("/compliance/policies/{policy_id}", response_model=PolicyPublic,
            summary="Change a policy (changed rules make a new version)")
def update_policy(policy_id: uuid.UUID, body: PolicyUpdate, principal: Authed, platform: PlatformDep) -> dict:
    with access.session_for(platform, principal) as s:
        p = access.get_owned(s, principal, CompliancePolicy, policy_id, "compliance:manage")
        service.update_policy(s, p, principal.actor, body.title, body.rules, body.default)
        audit.record(s, "compliance.policy_updated", actor=principal.actor, tenant_id=p.tenant_id,
                     target=f"compliance_policy:{p.id}", version=p.version)
        _after_default_change(platform, s, p.tenant_id, p.is_default)
        return service.as_dict(p)


@router.put("/compliance/default", response_model=DefaultChanged,
            summary="Make a policy (or a preset) the tenant's default; stored verdicts are re-derived")
def set_default(body: DefaultPolicy, principal: Authed, platform: PlatformDep) -> DefaultChanged:
    auth.ensure(principal, "compliance:manage")
    with access.session_for(platform, principal) as s:
        p = service.make_default(s, access.tenant_of(principal), principal.actor, body.policy)
        audit.record(s, "compliance.default_set", actor=principal.actor, tenant_id=p.tenant_id,
                     target=f"compliance_policy:{p.id}", name=p.name)
        n = _after_default_change(platform, s, p.tenant_id, True)
        return DefaultChanged(policy=p.name, version=p.version, reevaluated=n)


def _after_default_change(platform, s, tenant_id: uuid.UUID, changed: bool) -> int:
    if not changed:
        return 0
    return service.reevaluate_tenant(platform, s, tenant_id, platform.settings.compliance_reevaluate_max)
