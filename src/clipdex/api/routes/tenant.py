"""The tenant's own data as a whole: export everything (admins, owners) and delete everything (owners)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse

from clipdex.api.deps import Authed, PlatformDep
from clipdex.auth import service as auth
from clipdex.errors import ConfirmMismatch
from clipdex.models import Tenant
from clipdex.tenancy import access, audit, deletion, export

router = APIRouter(prefix="/tenant", tags=["team"])

ZIP = {200: {"description": "a ZIP archive, streamed; manifest.json lists every file with its SHA-256",
             "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/export", response_class=StreamingResponse, responses=ZIP,
            summary="Download all of the tenant's data as a streamed ZIP archive (admins and owners)")
def export_tenant(principal: Authed, platform: PlatformDep) -> StreamingResponse:
    auth.ensure(principal, "tenant:export")
    tenant_id = access.tenant_of(principal)
    with access.session_for(platform, principal) as s:
        slug = s.get(Tenant, tenant_id).slug
        audit.record(s, "tenant.exported", actor=principal.actor, tenant_id=tenant_id, target=f"tenant:{tenant_id}")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(export.stream(platform, tenant_id), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="clipdex-{slug}-{stamp}.zip"', "Cache-Control": "no-store"})


@router.delete("", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete the tenant with every row, file, index entry and model (owners; confirm with the slug)")
def delete_tenant(principal: Authed, platform: PlatformDep,
                  confirm: str = Query(..., max_length=64, description="the tenant's slug")) -> None:
    auth.ensure(principal, "tenant:delete")
    tenant_id = access.tenant_of(principal)
    with access.session_for(platform, principal, readonly=True) as s:
        if s.get(Tenant, tenant_id).slug != confirm:
            raise ConfirmMismatch("confirm must be the tenant's slug.")
    deletion.delete_tenant(platform, tenant_id, actor=principal.actor)
