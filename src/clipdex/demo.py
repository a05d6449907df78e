"""The embedded demo behind ``make run``: idempotent, fast on re-runs."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import uuid
from pathlib import Path

from rich.console import Console
from sqlalchemy import select

from clipdex.auth.passwords import verify_password
from clipdex.auth.principal import Principal
from clipdex.errors import Conflict
from clipdex.ingest.service import IngestMeta, accept, stage_copy
from clipdex.jobs.worker import Worker
from clipdex.models import Job, JobStage, Membership, Tenant, User, Video
from clipdex.platform import Platform
from clipdex.settings import Settings
from clipdex.tenancy.access import owned_by
from clipdex.tenancy.system import SystemReason, system_session

DEMO_EMAIL = "owner@demo.clipdex.local"
CREDENTIALS_FILE = "demo-owner-password.txt"  # in the data folder, mode 0600


def make_sample_video(path: Path, seconds: int = 12) -> Path:
    """A test pattern with a tone and a spoken-style chirp; generated, nothing downloaded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-movflags", "+faststart", "-shortest", str(path)], check=True)
    return path


def _owner_principal(platform: Platform, tenant_ref: str) -> Principal:
    from clipdex.tenancy.service import find_tenant

    with system_session(platform, SystemReason.OPERATOR) as s:
        tenant = find_tenant(s, tenant_ref)
        owner = s.scalar(select(Membership).where(owned_by(Membership, tenant.id),
                                                  Membership.role == "owner").order_by(Membership.created_at))
        return Principal(tenant_id=tenant.id, actor_type="user", actor_id=owner.user_id if owner else uuid.uuid4(),
                         role="owner", tenant_tier=tenant.tier)


def process_file(platform: Platform, file: Path, tenant_ref: str, *, title: str | None = None,
                 progress=None) -> tuple[uuid.UUID, str]:
    """Ingest ``file`` like an upload and run its job in this process."""
    principal = _owner_principal(platform, tenant_ref)
    staged = stage_copy(platform.settings, file)
    try:
        video = accept(platform, principal, staged, IngestMeta(title=title or file.stem, filename=file.name))
    except Conflict as e:
        return uuid.UUID(e.extensions["existing_id"]), "already uploaded"
    worker = Worker(platform, name="cli")
    if progress is None:
        worker.drain()
    else:
        with progress as bar:
            task = bar.add_task(f"processing {file.name}", total=1.0)
            while worker.run_once() is not None:
                bar.update(task, completed=_job_progress(platform, principal.tenant_id, video.id))
            bar.update(task, completed=1.0)
    with platform.db.tenant(principal.tenant_id) as s:
        return video.id, s.get(Video, video.id).status


def _job_progress(platform: Platform, tenant_id: uuid.UUID, video_id: uuid.UUID) -> float:
    with platform.db.tenant(tenant_id) as s:
        job = s.scalar(select(Job).where(Job.video_id == video_id))
        stages = s.scalars(select(JobStage).where(JobStage.job_id == job.id)).all()
        return sum(1 for st in stages if st.status in ("succeeded", "skipped")) / max(1, len(stages))


def run_demo(settings: Settings, console: Console, progress_factory) -> None:
    from clipdex.db import migrate
    from clipdex.pipeline import registry
    from clipdex.tenancy import service as tenants

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url, app_role=settings.database_app_role)
    registry.discover(settings.extra_stages)
    platform = Platform.from_settings(settings)
    with system_session(platform, SystemReason.OPERATOR) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.slug == "demo"))
        owner = s.scalar(select(User).where(User.email == DEMO_EMAIL))
    if tenant is None:
        tenant = tenants.create_tenant(platform, "Demo", "pro", slug="demo", actor="demo")
    if owner is None:
        password = secrets.token_urlsafe(12)
        with system_session(platform, SystemReason.OPERATOR) as s:
            user, _ = tenants.get_or_create_user(s, DEMO_EMAIL, password, name="Demo Owner")
            tenants.add_member(s, tenant.id, user.id, "owner")
        remember_password(settings, password)
    sample = make_sample_video(settings.data_dir / "samples" / "sample.mp4") \
        if not (settings.data_dir / "samples" / "sample.mp4").exists() else settings.data_dir / "samples" / "sample.mp4"
    video_id, status = process_file(platform, sample, "demo", title="Sample test pattern",
                                    progress=progress_factory())
    console.print(f"sample video {video_id}: [bold]{status}[/bold]")
    # Last, so the sign-in is the final thing on screen before "serving", not lost in build output.
    for line in credential_lines(platform):
        console.print(line, soft_wrap=True)
    platform.close()


def _credentials_file(settings: Settings) -> Path:
    return settings.data_dir / CREDENTIALS_FILE


def remember_password(settings: Settings, password: str) -> None:
    """The generated demo password, readable by this user only, so every ``make run`` can show it."""
    path = _credentials_file(settings)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")


def credential_lines(platform: Platform) -> list[str]:
    """How to sign in to the demo: the remembered password while it still works, else how to set one."""
    path = _credentials_file(platform.settings)
    password = path.read_text().strip() if path.is_file() else ""
    with system_session(platform, SystemReason.OPERATOR) as s:
        owner = s.scalar(select(User).where(User.email == DEMO_EMAIL))
        valid = owner is not None and bool(password) and verify_password(owner.password_hash, password)
    head = f"sign in to the console at [bold]{platform.settings.public_url}[/bold] (demo tenant [bold]demo[/bold]):"
    if valid:
        return [head, f"  email:    [bold]{DEMO_EMAIL}[/bold]", f"  password: [bold]{password}[/bold]"]
    return [head, f"  email:    [bold]{DEMO_EMAIL}[/bold]",
            "  password: changed since it was generated; set a new one with "
            f"[bold]clipdex admin set-password {DEMO_EMAIL}[/bold]"]
