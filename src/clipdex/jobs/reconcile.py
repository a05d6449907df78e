"""The blob reconciler: deletes stored files under a video that no row references and no stage will commit.

Artifact keys are deterministic, so a stage killed after storing a blob and re-run overwrites the
same key and commits its row: no orphan. Orphans come from elsewhere: a stage that stored a blob and
then failed for good or was cancelled, an artifact name a stage no longer produces, a stage still
running when its video was deleted, a blob delete that failed after the rows were gone.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict

from sqlalchemy import select

from clipdex.models import Artifact, Job, JobStage, Tenant, Video
from clipdex.platform import Platform
from clipdex.storage import keys
from clipdex.tenancy.system import SystemReason

log = logging.getLogger("clipdex.reconcile")

GRACE_S = 3600.0
IN_FLIGHT = ("waiting", "ready", "running")


def reconcile_blobs(platform: Platform, *, grace_s: float = GRACE_S) -> dict[str, int]:
    """Delete unreferenced blobs under ``tenants/{id}/videos/``; returns counts per reason."""
    removed = {"orphaned_artifacts": 0, "deleted_videos": 0}
    with platform.db.system(reason=SystemReason.SCHEDULING, readonly=True) as s:
        tenant_ids = s.scalars(select(Tenant.id)).all()
    for tenant_id in tenant_ids:
        base = keys.tenant_prefix(tenant_id) + "videos/"
        by_video: dict[str, list[str]] = defaultdict(list)
        for key in platform.blobs.list_prefix(base):
            by_video[key[len(base):].split("/", 1)[0]].append(key)
        if by_video:
            for reason, key in _orphans(platform, tenant_id, by_video, grace_s):
                platform.blobs.delete(key)
                removed[reason] += 1
    if any(removed.values()):
        log.info("reconciler removed %s", removed)
    return removed


def _orphans(platform: Platform, tenant_id: uuid.UUID, by_video: dict[str, list[str]], grace_s: float):
    ids = [uuid.UUID(v) for v in by_video if _is_uuid(v)]
    with platform.db.tenant(tenant_id, readonly=True) as s:
        videos = {str(v.id): v.blob_key for v in s.scalars(select(Video).where(Video.id.in_(ids)))}
        referenced = set(s.scalars(select(Artifact.blob_key).where(Artifact.video_id.in_(ids))))
        # a stage that may still commit keeps its blobs: it stores them before its row is written
        busy = {(str(v), n) for v, n in s.execute(select(Job.video_id, JobStage.name).join(
            Job, Job.id == JobStage.job_id).where(Job.video_id.in_(ids), JobStage.status.in_(IN_FLIGHT),
                                                  Job.status.in_(("queued", "running"))))}
    for vid, stored in by_video.items():
        prefix = keys.video_prefix(tenant_id, uuid.UUID(vid)) if _is_uuid(vid) else None
        for key in stored:
            if key in referenced or (vid in videos and key == videos[vid]):
                continue
            rest = key[len(prefix):] if prefix else ""
            if vid in videos:
                if "/" in rest and (vid, rest.split("/", 1)[0]) not in busy:
                    yield "orphaned_artifacts", key
            elif _older_than(platform, key, grace_s if rest.startswith("original.") else 0.0):
                # an original is stored just before its video row commits (ingest): give it time
                yield "deleted_videos", key


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


def _older_than(platform: Platform, key: str, grace_s: float) -> bool:
    """True when the blob's age is known to exceed ``grace_s`` (unknown ages count as young)."""
    if grace_s <= 0:
        return True
    modified = platform.blobs.modified_at(key)
    return modified is not None and time.time() - float(modified) > grace_s


def housekeep(platform: Platform) -> dict[str, int]:
    """Every periodic chore of a worker fleet: janitor sweep, dead outbox entries, orphaned blobs."""
    from clipdex.jobs import outbox
    from clipdex.jobs.janitor import sweep

    done = dict(sweep(platform))
    with platform.db.system(reason=SystemReason.SCHEDULING) as s:
        done["outbox_purged"] = outbox.purge_dead(s)
    done.update(reconcile_blobs(platform))
    return done
