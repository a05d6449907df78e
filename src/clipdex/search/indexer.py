"""Filling the index: a video's artifacts become rows with vectors, replacing its previous rows."""

from __future__ import annotations

import logging
import uuid

import numpy as np

from clipdex.search.documents import build_rows, load_source
from clipdex.search.embed import get_embedder
from clipdex.search.images import index_video_images
from clipdex.search.store import get_store
from clipdex.tenancy.system import SystemReason, system_session

log = logging.getLogger("clipdex.search")


def index_video(platform, tenant_id: uuid.UUID, video_id: uuid.UUID) -> dict:
    """Re-derive the video's rows from its artifacts; a missing video loses its rows."""
    store = get_store(platform.settings)
    src = load_source(platform, tenant_id, video_id)
    rows = build_rows(src) if src else []
    images = index_video_images(platform, tenant_id, video_id, src) if src else 0
    if not rows:  # nothing searchable yet: drop stale rows without loading a model
        store.delete_video(tenant_id, video_id, text_only=src is not None)
        return {"rows": 0, "image_rows": images}
    embedder = get_embedder(platform.settings)
    vectors = embedder.encode([r["text"] for r in rows]).astype(np.float32)
    for r, v in zip(rows, vectors):
        r["vector"] = v
    store.replace_video(tenant_id, video_id, embedder, rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["modality"]] = counts.get(r["modality"], 0) + 1
    return {"rows": len(rows), "image_rows": images, "by_modality": counts, "embedding_model": embedder.name,
            "embedding_version": embedder.version}


def refresh(platform, tenant_id: uuid.UUID, video_id: uuid.UUID) -> None:
    """Re-index a video after an edit; the edit is committed already, so a failure only delays search."""
    try:
        index_video(platform, tenant_id, video_id)
    except Exception:  # logged: the next index stage run catches up
        log.warning("re-indexing video %s failed; the next index stage run will catch up", video_id, exc_info=True)


def remove_video(platform, tenant_id: uuid.UUID, video_id: uuid.UUID) -> None:
    """The video's rows gone from every table, and from the tables' earlier versions (deletion is complete)."""
    store = get_store(platform.settings)
    store.delete_video(tenant_id, video_id)
    store.purge_history(tenant_id)


def refresh_and_purge(platform, tenant_id: uuid.UUID, video_ids) -> None:
    """Re-index videos after a deletion changed what their rows say (a person, a voice), then drop the old
    table versions that still hold the deleted names and ids. Best-effort per video, like ``refresh``."""
    for video_id in sorted(set(video_ids), key=str):
        refresh(platform, tenant_id, video_id)
    get_store(platform.settings).purge_history(tenant_id)


def reindex(platform, tenant_ids: list[uuid.UUID] | None = None, *, drop_old: bool = False,
            progress=None) -> dict:
    """Rebuild tenants' tables for the configured embedding model from stored artifacts.

    A model change creates new tables (their name carries the model id), so searches keep using
    full-text on the old table until this finishes; ``drop_old`` then removes the old tables.
    """
    from sqlalchemy import select

    from clipdex.models import Tenant, Video
    from clipdex.search.store import table_name
    from clipdex.tenancy.access import owned_by

    store = get_store(platform.settings)
    with system_session(platform, SystemReason.MIGRATION, readonly=True) as s:
        tenants = tenant_ids or list(s.scalars(select(Tenant.id)))
        videos = {t: list(s.scalars(select(Video.id).where(owned_by(Video, t), Video.status == "ready")))
                  for t in tenants}
    embedder = get_embedder(platform.settings)
    current, report = table_name(embedder), {"tenants": len(tenants), "videos": 0, "rows": 0, "dropped": 0}
    for tenant_id in tenants:
        for video_id in videos[tenant_id]:
            report["rows"] += index_video(platform, tenant_id, video_id)["rows"]
            report["videos"] += 1
            if progress:
                progress(report["videos"])
        if videos[tenant_id]:
            store.optimize(tenant_id, embedder)
        if drop_old:
            for name in store.tables(tenant_id):
                if name != current:
                    store.db(tenant_id).drop_table(name)
                    report["dropped"] += 1
    report["table"] = current
    return report
