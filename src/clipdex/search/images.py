"""Shot keyframes embedded by an image-text model, for "find where X is shown" without any words.

Only when the operator configures one (``CLIPDEX_CLIP_MODEL_DIR``: a CLIP/SigLIP checkpoint in
transformers format; no such weights ship offline). The vectors live in their own per-tenant table
named after the model (``images_<id>``), never beside the MiniLM text vectors: the two spaces are
not comparable. A text query is embedded by the same model's text tower.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
from clipdex.search import rank
from clipdex.search.documents import Source
from clipdex.search.retrieve import Filters, Passage, where_clause
from clipdex.search.store import get_store, replace_rows

IMAGE_PREFIX = "images_"


def _backend(settings):
    from clipdex.analyzers.tags import clip_backend

    return clip_backend(Path(settings.clip_model_dir), ())


def table_name(settings) -> str:
    d = Path(settings.clip_model_dir)
    stamp = (d / "config.json").read_bytes() if (d / "config.json").exists() else str(d).encode()
    return f"{IMAGE_PREFIX}{hashlib.sha256(stamp).hexdigest()[:10]}"


def _schema(dim: int, model: str) -> pa.Schema:
    return pa.schema([pa.field("id", pa.string()), pa.field("video_id", pa.string()),
                      pa.field("start", pa.float64()), pa.field("end", pa.float64()),
                      pa.field("thumb_key", pa.string()), pa.field("uploaded_ts", pa.float64()),
                      pa.field("vector", pa.list_(pa.float32(), dim))],
                     metadata={"image_model_dir": model, "layout": "1"})


def index_video_images(platform, tenant_id: uuid.UUID, video_id: uuid.UUID, src: Source) -> int:
    """Replace the video's shot-image rows (one per shot with a keyframe); 0 when no model is configured.

    ``src`` is what the text indexer already read for the video (shots, keyframe keys, upload time).
    """
    settings = platform.settings
    if not settings.clip_model_dir:
        return 0
    keys, uploaded = src.keyframes, src.video["uploaded_ts"]
    shots = [sh for sh in src.shots if sh.get("keyframe") in keys]
    images = []
    for sh in shots:
        with platform.blobs.open(keys[sh["keyframe"]]) as f:
            images.append(cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR))
    store, name = get_store(settings), table_name(settings)
    if not images:  # no keyframes (any more): drop the video's old rows, if any
        if name in store.all_tables(tenant_id):
            replace_rows(store.db(tenant_id).open_table(name), video_id, None)
        return 0
    vecs = _backend(settings).embed_images(images)
    table = store.db(tenant_id).create_table(name, schema=_schema(int(vecs.shape[1]), str(settings.clip_model_dir)),
                                             exist_ok=True)
    vid = str(uuid.UUID(str(video_id)))
    rows = [{"id": f"{vid}:image:{sh['index']}", "video_id": vid, "start": float(sh["start_s"]),
             "end": float(sh["end_s"]), "uploaded_ts": uploaded, "vector": v.astype(np.float32),
             "thumb_key": keys.get(sh["keyframe"].replace(".jpg", "-160.jpg"), keys[sh["keyframe"]])}
            for sh, v in zip(shots, vecs)]
    replace_rows(table, video_id, pa.Table.from_pylist(rows, schema=table.schema))
    return len(rows)


def image_hits(platform, tenant_id: uuid.UUID, query: str, filters: Filters | None, k: int = 20) -> list[Passage]:
    """Shots whose keyframe the image-text model places near ``query`` (cosine >= the configured minimum)."""
    settings = platform.settings
    if not settings.clip_model_dir or not query.strip():
        return []
    if filters and (filters.person_ids or filters.speakers or filters.tags or filters.languages
                    or (filters.modalities and "shot" not in filters.modalities)):
        return []  # image rows carry none of these; a filtered search must not return unfiltered shots
    store = get_store(settings)
    name, db = table_name(settings), store.db(tenant_id)
    if name not in store.all_tables(tenant_id):
        return []
    qv = _backend(settings).embed_texts([query])[0]
    where = where_clause(Filters(video_ids=filters.video_ids, uploaded_after=filters.uploaded_after,
                                 uploaded_before=filters.uploaded_before) if filters else None)
    b = db.open_table(name).search(qv.astype(np.float32), vector_column_name="vector").distance_type("cosine")
    b = b.select(["id", "video_id", "start", "end", "thumb_key", "_distance"]).limit(k)
    out = []
    for r in (b.where(where, prefilter=True) if where else b).to_list():
        cos = 1.0 - float(r["_distance"])
        if cos >= settings.clip_min_similarity:
            out.append(Passage(video_id=uuid.UUID(r["video_id"]), start=r["start"], end=r["end"],
                               text="(shown on screen)", modality="shot", score=rank.image_score(cos), id=r["id"],
                               thumb_key=r["thumb_key"], matched=("image",)))
    return out
