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
from sqlalchemy import select

from clipdex.models import Artifact
from clipdex.search.retrieve import Filters, Passage, where_clause
from clipdex.search.store import _retry, get_store
from clipdex.speech import transcript as transcripts

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


def _keyframes(platform, tenant_id: uuid.UUID, video_id: uuid.UUID) -> tuple[list[dict], dict[str, str], float]:
    with platform.db.tenant(tenant_id, readonly=True) as s:
        shots = (transcripts.artifact_json(platform, s, video_id, "visual", "shots.json") or {}).get("shots", [])
        keys = {a.name: a.blob_key for a in s.scalars(select(Artifact).where(
            Artifact.video_id == video_id, Artifact.stage == "visual", Artifact.name.like("keyframe-%")))}
        from clipdex.models import Video

        v = s.get(Video, video_id)
        uploaded = v.created_at.timestamp() if v else 0.0
    return [sh for sh in shots if sh.get("keyframe") in keys], keys, uploaded


def index_video_images(platform, tenant_id: uuid.UUID, video_id: uuid.UUID) -> int:
    """Replace the video's shot-image rows (one per shot with a keyframe); 0 when no model is configured."""
    settings = platform.settings
    if not settings.clip_model_dir:
        return 0
    shots, keys, uploaded = _keyframes(platform, tenant_id, video_id)
    store, vid = get_store(settings), str(uuid.UUID(str(video_id)))
    images = []
    for sh in shots:
        with platform.blobs.open(keys[sh["keyframe"]]) as f:
            images.append(cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR))
    backend = _backend(settings)
    vecs = backend.embed_images(images) if images else np.zeros((0, 1), np.float32)
    name, db = table_name(settings), store.db(tenant_id)
    if name not in store.all_tables(tenant_id) and not len(images):
        return 0
    dim = int(vecs.shape[1]) if len(images) else int(db.open_table(name).schema.field("vector").type.list_size)
    table = db.create_table(name, schema=_schema(dim, str(settings.clip_model_dir)), exist_ok=True)
    rows = [{"id": f"{vid}:image:{sh['index']}", "video_id": vid, "start": float(sh["start_s"]),
             "end": float(sh["end_s"]), "thumb_key": keys[sh["keyframe"].replace(".jpg", "-160.jpg")]
             if sh["keyframe"].replace(".jpg", "-160.jpg") in keys else keys[sh["keyframe"]],
             "uploaded_ts": uploaded, "vector": v.astype(np.float32)} for sh, v in zip(shots, vecs)]
    if rows:
        data = pa.Table.from_pylist(rows, schema=table.schema)
        _retry(lambda: table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
               .when_not_matched_by_source_delete(f"video_id = '{vid}'").execute(data))
    else:
        _retry(lambda: table.delete(f"video_id = '{vid}'"))
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
                               text="(shown on screen)", modality="shot", score=0.01 * (1 + cos), id=r["id"],
                               thumb_key=r["thumb_key"], matched=("image",)))
    return out
