"""The janitor removes expired resumable uploads and old scratch files, and nothing else."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from sqlalchemy import select

from clipdex.db.types import utcnow
from clipdex.jobs.janitor import sweep
from clipdex.models import UploadSession
from clipdex.tenancy import service as tenants


def test_sweep_removes_expired_uploads_and_stale_scratch(sqlite_platform):
    p = sqlite_platform
    t = tenants.create_tenant(p, "Jan", "pro", slug="jan")
    tus = p.settings.staging_dir / "tus"
    tus.mkdir(exist_ok=True)
    with p.db.tenant(t.id) as s:
        old = UploadSession(tenant_id=t.id, length=10, expires_at=utcnow() - timedelta(minutes=1))
        live = UploadSession(tenant_id=t.id, length=10, expires_at=utcnow() + timedelta(hours=1))
        s.add_all([old, live])
        s.flush()
        old_id, live_id = old.id, live.id
    for i in (old_id, live_id):
        (tus / str(i)).write_bytes(b"12345")
    stale, fresh = p.settings.staging_dir / "clipdex-probe-x", p.settings.staging_dir / "clipdex-probe-y"
    stale.mkdir()
    fresh.mkdir()
    os.utime(stale, (time.time() - 3 * 86400,) * 2)

    assert sweep(p) == {"uploads": 1, "presigned": 0, "scratch": 1}
    with p.db.tenant(t.id) as s:
        assert s.scalars(select(UploadSession.id)).all() == [live_id]
    assert not (tus / str(old_id)).exists() and (tus / str(live_id)).exists()
    assert not stale.exists() and fresh.exists()
