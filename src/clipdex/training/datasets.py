"""Q&A datasets from a tenant's transcripts: generation, dedupe, split by video, review, JSONL, versions.

The split is by video (no video in two splits), decided by the order of sha256(video id): adding
items to a video never moves it to another split, and the test split measures answers about videos
the model never trained on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import Counter

from sqlalchemy import delete, func, select, update

from clipdex.db.types import utcnow
from clipdex.errors import DatasetNotReady
from clipdex.models import Artifact, DatasetItem, TrainingDataset, Video
from clipdex.pipeline.artifacts import Transcript
from clipdex.storage import keys
from clipdex.tenancy.access import owned_by
from clipdex.training import questions as qg

log = logging.getLogger("clipdex.training")

MAX_VIDEOS = 500
MAX_ITEMS_PER_VIDEO = 200


def split_of_videos(video_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """test / validation / train per video, deterministic: videos ordered by the hash of their id."""
    order = sorted(set(video_ids), key=lambda v: hashlib.sha256(str(v).encode()).hexdigest())
    n = len(order)
    n_test = max(1, round(n * 0.15)) if n >= 2 else 0
    n_val = max(1, round(n * 0.1)) if n >= 6 else 0
    out = {}
    for i, v in enumerate(order):
        out[v] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    return out


def _transcript_segments(platform, s, video_id: uuid.UUID) -> list[dict]:
    from clipdex.speech import transcript

    try:
        return transcript.load(platform, s, video_id)["segments"]
    except transcript.NotReady:
        return []


def generate_pairs(segments: list[dict]) -> list[qg.Pair]:
    pairs: list[qg.Pair] = []
    for sent in qg.sentences_of(segments):
        pairs += qg.pairs_for(sent)
    return qg.dedupe(pairs)[:MAX_ITEMS_PER_VIDEO]


def ready_video_ids(s, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    """The tenant's videos that have a transcript."""
    return list(s.scalars(select(Artifact.video_id).where(
        owned_by(Artifact, tenant_id), Artifact.stage == Transcript.stage, Artifact.name == Transcript.name
    ).distinct()).all())


def build(platform, tenant_id: uuid.UUID, dataset_id: uuid.UUID, drafter=None) -> None:
    """Generate the items of a ``building`` dataset and mark it ready (or failed). Runs after the 202."""
    try:
        with platform.db.tenant(tenant_id) as s:
            ds = s.get(TrainingDataset, dataset_id)
            video_ids = [uuid.UUID(v) for v in ds.selection.get("video_ids", [])]
            splits = split_of_videos(video_ids)
            pos = 0
            all_pairs: list[tuple[uuid.UUID, qg.Pair]] = []
            for vid in video_ids:
                pairs = generate_pairs(_transcript_segments(platform, s, vid))
                if drafter is not None:
                    drafted = drafter.draft_pairs(qg.sentences_of(_transcript_segments(platform, s, vid)))
                    pairs = qg.dedupe(pairs + drafted)
                all_pairs += [(vid, p) for p in pairs]
            for vid, p in all_pairs:
                s.add(DatasetItem(tenant_id=tenant_id, dataset_id=ds.id, video_id=vid, position=pos,
                                  question=p.question, answer=p.answer, context=p.sentence.context or p.sentence.text,
                                  start_s=round(p.sentence.start, 3), end_s=round(p.sentence.end, 3),
                                  segment_ids=p.sentence.segment_ids, source=p.source, kind=p.kind,
                                  split=splits[vid]))
                pos += 1
            s.flush()
            ds.counts = counts(s, ds.id)
            ds.status, ds.updated_at = "ready", utcnow()
    except Exception:  # a failed build is reported on the dataset, never lost
        log.exception("dataset build failed", extra={"tenant_id": tenant_id})
        with platform.db.tenant(tenant_id) as s:
            ds = s.get(TrainingDataset, dataset_id)
            if ds is not None:
                ds.status, ds.error_code = "failed", "dataset.build_failed"


def counts(s, dataset_id: uuid.UUID) -> dict:
    rows = s.execute(select(DatasetItem.split, DatasetItem.source, DatasetItem.video_id, func.count()).where(
        DatasetItem.dataset_id == dataset_id).group_by(DatasetItem.split, DatasetItem.source,
                                                       DatasetItem.video_id)).all()
    by_split, by_source, videos = Counter(), Counter(), {}
    for split, source, vid, n in rows:
        by_split[split] += n
        by_source[source] += n
        videos.setdefault(split, set()).add(vid)
    return {"items": sum(by_split.values()), "train": by_split["train"], "validation": by_split["validation"],
            "test": by_split["test"], "by_source": dict(by_source),
            "videos": {k: len(v) for k, v in videos.items()}}


def bump(s, ds: TrainingDataset) -> None:
    """An edit makes a new version (runs name the version they trained on)."""
    s.flush()
    ds.version += 1
    ds.counts = counts(s, ds.id)
    ds.updated_at = utcnow()


def require_ready(ds: TrainingDataset) -> None:
    if ds.status != "ready":
        raise DatasetNotReady(f"The dataset is {ds.status}; wait until it is ready.")


def add_item(s, ds: TrainingDataset, video: Video | None, fields: dict) -> DatasetItem:
    require_ready(ds)
    split = "train"
    if video is not None:
        existing = s.scalar(select(DatasetItem.split).where(DatasetItem.dataset_id == ds.id,
                                                            DatasetItem.video_id == video.id).limit(1))
        split = existing or fields.get("split") or "train"  # a video keeps its split; a new one trains
    pos = (s.scalar(select(func.max(DatasetItem.position)).where(DatasetItem.dataset_id == ds.id)) or 0) + 1
    item = DatasetItem(tenant_id=ds.tenant_id, dataset_id=ds.id, video_id=video.id if video else None, position=pos,
                       question=fields["question"], answer=fields["answer"], context=fields.get("context") or "",
                       start_s=fields.get("start") or 0.0, end_s=fields.get("end") or 0.0, segment_ids=[],
                       source="manual", kind="manual", split=split, status="accepted")
    s.add(item)
    bump(s, ds)
    return item


def edit_item(s, ds: TrainingDataset, item: DatasetItem, fields: dict) -> DatasetItem:
    require_ready(ds)
    for name in ("question", "answer", "context"):
        if fields.get(name) is not None:
            setattr(item, name, fields[name])
    if fields.get("status") is not None:
        item.status = fields["status"]
    elif any(fields.get(n) is not None for n in ("question", "answer", "context")):
        item.status = "edited"
    bump(s, ds)
    return item


def delete_item(s, ds: TrainingDataset, item: DatasetItem) -> None:
    require_ready(ds)
    s.delete(item)
    bump(s, ds)


def accept_all(s, ds: TrainingDataset) -> int:
    n = s.execute(update(DatasetItem).where(DatasetItem.dataset_id == ds.id, DatasetItem.status == "generated").values(
        status="accepted").execution_options(synchronize_session=False)).rowcount
    bump(s, ds)
    return n


def item_public(i: DatasetItem) -> dict:
    return {"id": str(i.id), "question": i.question, "answer": i.answer, "video_id": i.video_id and str(i.video_id),
            "start": i.start_s, "end": i.end_s, "split": i.split, "context": i.context,
            "segment_ids": i.segment_ids, "source": i.source, "kind": i.kind, "status": i.status}


def public(ds: TrainingDataset) -> dict:
    return {"id": str(ds.id), "name": ds.name, "status": ds.status, "version": ds.version, "counts": ds.counts or {},
            "selection": ds.selection, "created_at": ds.created_at.isoformat(), "updated_at": ds.updated_at.isoformat(),
            "error_code": ds.error_code}


def rows(s, ds: TrainingDataset, split: str | None = None) -> list[DatasetItem]:
    q = select(DatasetItem).where(DatasetItem.dataset_id == ds.id).order_by(DatasetItem.position)
    if split:
        q = q.where(DatasetItem.split == split)
    return list(s.scalars(q).all())


def jsonl(items: list[DatasetItem]) -> bytes:
    return b"".join(json.dumps(item_public(i), ensure_ascii=False).encode() + b"\n" for i in items)


def snapshot(platform, s, ds: TrainingDataset) -> str:
    """The dataset at its current version as JSONL under a deterministic key (written once per version)."""
    key = keys.training_blob(ds.tenant_id, "datasets", ds.id, f"v{ds.version}.jsonl")
    if not platform.blobs.exists(key):
        platform.blobs.put_bytes(key, jsonl(rows(s, ds)))
    return key


def read_snapshot(platform, tenant_id: uuid.UUID, dataset_id: uuid.UUID, version: int) -> list[dict]:
    with platform.blobs.open(keys.training_blob(tenant_id, "datasets", dataset_id, f"v{version}.jsonl")) as f:
        return [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]


def delete_dataset(platform, s, ds: TrainingDataset) -> None:
    s.execute(delete(DatasetItem).where(DatasetItem.dataset_id == ds.id))
    platform.blobs.delete_prefix(keys.training_prefix(ds.tenant_id, "datasets", ds.id))
    s.delete(ds)
