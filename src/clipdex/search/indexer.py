"""Filling the index: a video's artifacts become rows with vectors, replacing its previous rows."""

from __future__ import annotations

import logging
import uuid

import numpy as np

from clipdex.search.documents import build_rows, load_source
from clipdex.search.embed import get_embedder
from clipdex.search.store import get_store

log = logging.getLogger("clipdex.search")


def index_video(platform, tenant_id: uuid.UUID, video_id: uuid.UUID) -> dict:
    """Re-derive the video's rows from its artifacts; a missing video loses its rows."""
    store = get_store(platform.settings)
    src = load_source(platform, tenant_id, video_id)
    rows = build_rows(src) if src else []
    if not rows:  # nothing searchable yet: drop stale rows without loading a model
        store.delete_video(tenant_id, video_id)
        return {"rows": 0}
    embedder = get_embedder(platform.settings)
    vectors = embedder.encode([r["text"] for r in rows]).astype(np.float32)
    for r, v in zip(rows, vectors):
        r["vector"] = v
    store.replace_video(tenant_id, video_id, embedder, rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["modality"]] = counts.get(r["modality"], 0) + 1
    return {"rows": len(rows), "by_modality": counts, "embedding_model": embedder.name,
            "embedding_version": embedder.version}


def refresh(platform, tenant_id: uuid.UUID, video_id: uuid.UUID) -> None:
    """Re-index a video after an edit; the edit is committed already, so a failure only delays search."""
    try:
        index_video(platform, tenant_id, video_id)
    except Exception:  # noqa: BLE001
        log.warning("re-indexing video %s failed; the next index stage run will catch up", video_id, exc_info=True)


def remove_video(platform, tenant_id: uuid.UUID, video_id: uuid.UUID) -> None:
    get_store(platform.settings).delete_video(tenant_id, video_id)
