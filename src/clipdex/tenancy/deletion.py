"""Complete deletion: what goes with a video, a person, a voice, a member and a whole tenant.

Every row, blob and index row derived from the deleted thing goes with it, including what no
foreign key reaches: people whose centroid came from a deleted video's faces, dataset items that
quote its transcript (and the dataset snapshots that copied them), index rows that name a deleted
person or voice, and old versions of the index tables (a Lance delete only marks rows).

Two kinds of rows are kept on purpose and carry nothing but opaque ids: audit events (the record
that something was deleted, and by whom) and billing records (usage and its Stripe reports, kept
for accounting). Blobs are deleted after the commit: a failed delete leaves files, never rows
pointing at missing files.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid

from sqlalchemy import Text, cast, delete, func, select
from sqlalchemy.orm import Session

from clipdex.errors import NotFound
from clipdex.models import (ApiKey, Artifact, AuditEvent, Base, BillingAccount, DatasetItem, Face, Invitation, Job,
                            JobStage, Membership, RefreshToken, SpeakerProfile, Tenant, TrainedModel, TrainingDataset,
                            UploadSession, User)
from clipdex.pipeline.artifacts import Speakers
from clipdex.storage import keys
from clipdex.tenancy import audit
from clipdex.tenancy.access import owned_by
from clipdex.tenancy.system import SystemReason, system_session

log = logging.getLogger("clipdex.deletion")

# Rows that outlive what they name; each column holds ids only (see the module docstring).
KEPT_TABLES = ("audit_events", "usage_records", "billing_usage_reports")


def video_residue(s: Session, video) -> list[str]:
    """Rows derived from ``video`` that its foreign keys leave behind; returns blob prefixes to delete.

    Faces are removed here (not by the cascade) so that their people are recomputed: an unnamed
    person seen only in this video goes; a named one stays in the gallery (name and centroid, which
    deleting the person removes), like a named voice whose source video goes.
    """
    from clipdex.people import service as people
    from clipdex.training import datasets

    touched = set(s.scalars(select(Face.person_id).where(Face.video_id == video.id)))
    s.execute(delete(Face).where(Face.video_id == video.id).execution_options(synchronize_session=False))
    s.flush()
    for person_id in touched:
        people.recompute(s, person_id)
    prefixes = []
    ds_ids = set(s.scalars(select(DatasetItem.dataset_id).where(DatasetItem.video_id == video.id)))
    if ds_ids:
        s.execute(delete(DatasetItem).where(DatasetItem.video_id == video.id)
                  .execution_options(synchronize_session=False))
        for ds in s.scalars(select(TrainingDataset).where(TrainingDataset.id.in_(ds_ids))):
            datasets.bump(s, ds)
            # the stored snapshots (v1.jsonl, ...) copied the items: they go, the next export writes anew
            prefixes.append(keys.training_prefix(ds.tenant_id, "datasets", ds.id))
    vid = str(video.id)
    for ds in s.scalars(select(TrainingDataset).where(owned_by(TrainingDataset, video.tenant_id))):
        chosen = (ds.selection or {}).get("video_ids") or []
        if vid in chosen:  # the selection a dataset was built from names its videos
            ds.selection = {**ds.selection, "video_ids": [v for v in chosen if v != vid]}
    s.execute(delete(UploadSession).where(UploadSession.video_id == video.id)
              .execution_options(synchronize_session=False))
    s.flush()
    return prefixes


def forget_voice(s: Session, blobs, profile: SpeakerProfile) -> None:
    """Take a deleted voice out of what the diarize stage recorded when it matched it: the stage's
    summary (``named``) and the video's ``speakers.json`` (``names``, with the profile's id).

    Transcripts are matched again when read, so only these stored copies still carry the voice.
    The summaries say which videos matched, so only those documents are read and rewritten.
    """
    pid, videos = str(profile.id), set()
    for stage, video_id in s.execute(select(JobStage, Job.video_id).join(Job, Job.id == JobStage.job_id).where(
            owned_by(JobStage, profile.tenant_id), JobStage.name == Speakers.stage)):
        named = (stage.output or {}).get("named")
        if named and profile.name in named:
            stage.output = {**stage.output, "named": [n for n in named if n != profile.name]}
            videos.add(video_id)
    for art in s.scalars(select(Artifact).where(Artifact.video_id.in_(videos), Artifact.stage == Speakers.stage,
                                                Artifact.name == Speakers.name)) if videos else ():
        with blobs.open(art.blob_key) as f:
            doc = json.load(f)
        names = doc.get("names") or {}
        kept = {label: m for label, m in names.items() if str(m.get("id")) != pid}
        if len(kept) != len(names):
            doc["names"] = kept
            art.size_bytes = blobs.put_bytes(art.blob_key, json.dumps(doc).encode())
    s.flush()


def voice_videos(platform, tenant_id: uuid.UUID, name: str) -> set[uuid.UUID]:
    """Videos whose index rows carry this voice's name (they are re-indexed once it is deleted)."""
    from clipdex.search.store import get_store

    quoted = name.replace("'", "''")
    try:
        return get_store(platform.settings).video_ids_where(tenant_id, f"speaker = '{quoted}'")
    except Exception:  # an index that cannot be read has nothing to re-derive yet
        log.warning("could not list the videos of a deleted voice", exc_info=True)
        return set()


def member_residue(s: Session, m: Membership, actor: str = "system") -> None:
    """What a removed member leaves in the tenant: their sessions (refresh tokens) for it, the
    invitations sent to their address, and the API keys they created, which are revoked (the member saw
    each secret once and may still hold it; a key outliving its creator's membership is a way back in,
    as GitHub revokes a removed member's tokens for the organisation). The account itself is global:
    it stays while it has other tenants (deleting the tenant deletes accounts left without any)."""
    from clipdex.db.types import utcnow

    user = s.get(User, m.user_id)
    s.execute(delete(RefreshToken).where(owned_by(RefreshToken, m.tenant_id), RefreshToken.user_id == m.user_id)
              .execution_options(synchronize_session=False))
    keys_left = s.scalars(select(ApiKey).where(owned_by(ApiKey, m.tenant_id), ApiKey.created_by == m.user_id,
                                               ApiKey.revoked_at.is_(None))).all()
    for key in keys_left:
        key.revoked_at = utcnow()
        audit.record(s, "apikey.revoked", actor=actor, tenant_id=m.tenant_id, target=f"api_key:{key.id}",
                     reason="creator removed from the tenant")
    if user is not None:
        s.execute(delete(Invitation).where(owned_by(Invitation, m.tenant_id), Invitation.email == user.email)
                  .execution_options(synchronize_session=False))
        _redact_audit(s, m.tenant_id, user.email)
    s.flush()


def _redact_audit(s: Session, tenant_id: uuid.UUID, email: str) -> None:
    """Audit events stay, but the address of someone no longer a member leaves them (``invitation.created``
    records it); ids and actions remain, so the log still tells who did what."""
    like = email.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    for event in s.scalars(select(AuditEvent).where(owned_by(AuditEvent, tenant_id),
                                                    cast(AuditEvent.details, Text).like(f"%{like}%", escape="\\"))):
        event.details = {k: ("(removed member)" if v == email else v) for k, v in (event.details or {}).items()}


def delete_tenant(platform, tenant_id: uuid.UUID, *, actor: str) -> dict[str, int]:
    """Every row, blob, index table and cached model of the tenant; accounts left without a tenant.

    One platform-level audit event (no tenant column) records the deletion and its counts.
    """
    with system_session(platform, SystemReason.OPERATOR, readonly=True) as s:
        if s.get(Tenant, tenant_id) is None:
            raise NotFound()
        account = s.scalar(select(BillingAccount).where(owned_by(BillingAccount, tenant_id)))
        customer = account.stripe_customer_id if account else None
    stripe_customer = _delete_stripe_customer(platform, customer)  # before any row goes: failing, it stops here
    with system_session(platform, SystemReason.OPERATOR) as s:
        tenant = s.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound()
        counts = _delete_rows(s, tenant_id)
        uploads, models = counts.pop("_uploads"), counts.pop("_models")
        s.delete(tenant)
        s.flush()
        audit.record(s, "tenant.deleted", actor=actor, target=f"tenant:{tenant_id}", stripe_customer=stripe_customer,
                     **{k: v for k, v in counts.items() if v})
    counts["blobs"] = _forget_outside_db(platform, tenant_id, uploads, models)
    platform.db.scrub_freed(wait=False)  # SQLite: the deleted rows leave the WAL too (if readers are busy: the janitor)
    return counts


def _delete_stripe_customer(platform, customer_id: str | None) -> str:
    """Delete the tenant's Stripe customer, which cancels its subscriptions at once: a deleted tenant is
    never charged again, and Stripe keeps no customer of ours with the tenant's name. Returns what
    happened, for the audit event ("none", "deleted", "already deleted", "billing not configured").

    A Stripe failure raises ``BillingUnavailable`` before any row is deleted: the owner (or operator)
    retries, rather than a tenant gone from here and still subscribed there.
    """
    if not customer_id:
        return "none"
    if not platform.settings.billing_enabled:
        log.warning("tenant deletion: a Stripe customer exists but billing is not configured; cancel it in Stripe")
        return "billing not configured"
    import stripe

    from clipdex.billing.stripe_client import client_for, stripe_errors

    with stripe_errors():
        try:
            client_for(platform.settings).v1.customers.delete(customer_id)
        except stripe.InvalidRequestError as e:
            if e.code != "resource_missing":
                raise
            return "already deleted"
    return "deleted"


def _delete_rows(s: Session, tenant_id: uuid.UUID) -> dict:
    uploads = list(s.scalars(select(UploadSession.id).where(owned_by(UploadSession, tenant_id))))
    models = list(s.scalars(select(TrainedModel.id).where(owned_by(TrainedModel, tenant_id))))
    users = list(s.scalars(select(Membership.user_id).where(owned_by(Membership, tenant_id))))
    counts: dict = {"_uploads": uploads, "_models": models}
    for table in reversed(Base.metadata.sorted_tables):  # children before parents
        if "tenant_id" in table.c:
            counts[table.name] = s.execute(delete(table).where(table.c.tenant_id == tenant_id)).rowcount or 0
    orphans = [u for u in users if not s.scalar(select(func.count()).select_from(Membership)
                                                 .where(Membership.user_id == u))]
    if orphans:
        orphans = list(s.scalars(select(User.id).where(User.id.in_(orphans), User.is_operator.is_(False))))
        s.execute(delete(RefreshToken).where(RefreshToken.user_id.in_(orphans)))
        counts["users"] = s.execute(delete(User).where(User.id.in_(orphans))).rowcount or 0
    return counts


def _forget_outside_db(platform, tenant_id: uuid.UUID, uploads: list, models: list) -> int:
    """Blobs, the search index, resumable uploads' staging files and loaded models; returns the blob count."""
    from clipdex.search.store import get_store
    from clipdex.training.serving import forget

    removed = platform.blobs.delete_prefix(keys.tenant_prefix(tenant_id))
    get_store(platform.settings).drop_tenant(tenant_id)
    for upload_id in uploads:
        (platform.settings.staging_dir / "tus" / str(upload_id)).unlink(missing_ok=True)
    for model_id in models:
        forget(model_id)
    shutil.rmtree(platform.settings.resolved_model_cache_dir / "tenants" / str(tenant_id), ignore_errors=True)
    return removed


def sweep_deleted_tenants(platform, *, within_s: float = 2 * 86400) -> int:
    """Delete again what recently deleted tenants have outside the database.

    A stage that was running when its tenant was deleted may still store a blob or touch the index
    before its lease fails; the reconciler only looks under tenants that exist. The platform-level
    ``tenant.deleted`` audit events name the tenants to sweep. Returns how many blobs went.
    """
    from datetime import timedelta

    from clipdex.db.types import utcnow
    from clipdex.models import AuditEvent
    from clipdex.search.store import get_store

    with system_session(platform, SystemReason.SCHEDULING, readonly=True) as s:
        targets = s.scalars(select(AuditEvent.target).where(
            AuditEvent.action == "tenant.deleted", AuditEvent.tenant_id.is_(None),
            AuditEvent.created_at > utcnow() - timedelta(seconds=within_s)))
        gone = {uuid.UUID(t.split(":", 1)[1]) for t in targets if t.startswith("tenant:")}
        gone -= set(s.scalars(select(Tenant.id).where(Tenant.id.in_(gone)))) if gone else set()
    removed = 0
    for tenant_id in sorted(gone, key=str):
        removed += platform.blobs.delete_prefix(keys.tenant_prefix(tenant_id))
        get_store(platform.settings).drop_tenant(tenant_id)
    return removed
