"""What ``bench.load`` checks after its run: lost uploads, job outcomes, effects once, index rows, logs.

Effects once is ``tests.pipeline.engine_support.assert_effects_once`` applied per video (that helper
assumes one job per tenant: it compares the tenant's whole usage list with one job's key): one job per
video, one artifact row per (stage, name), blobs == rows (transcribe's resume checkpoints, which have
no rows until the reconciler runs, counted apart), sizes as recorded, billed exactly once for the
video's duration; plus every search-index row id unique and each video's row count equal to what its
index stage reported.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from pathlib import Path

TERMINAL = ("succeeded", "failed", "cancelled")


def _rows(platform, model, *cols):
    from sqlalchemy import select

    from clipdex.tenancy.system import SystemReason, system_session

    with system_session(platform, SystemReason.OPERATOR, readonly=True) as s:
        return [tuple(r) for r in s.execute(select(*(getattr(model, c) for c in cols)))]


def pending_jobs(platform) -> int:
    from clipdex.models import Job

    return sum(1 for (st,) in _rows(platform, Job, "status") if st not in TERMINAL)


def index_rows(platform, tenant_ids) -> list[tuple[str, str]]:
    """(row id, video id) of every row of every search table of the tenants."""
    from clipdex.search.store import get_store

    store, out = get_store(platform.settings), []
    for tid in tenant_ids:
        for name in store.tables(tid):
            t = store.db(tid).open_table(name).search().select(["id", "video_id"]).limit(10_000_000).to_arrow()
            out += list(zip(t["id"].to_pylist(), t["video_id"].to_pylist()))
    return out


def verify(platform, accepted: dict[str, str]) -> dict:
    """Lost uploads, job outcomes and effects-once (engine_support.assert_effects_once, per video)."""
    from clipdex.models import Artifact, Job, JobStage, Tenant, UsageRecord, Video
    from clipdex.storage import keys

    videos = {str(v[0]): v for v in _rows(platform, Video, "id", "tenant_id", "status", "error_code", "blob_key",
                                           "duration_s")}
    jobs = _rows(platform, Job, "id", "video_id", "status", "error_code")
    stages = _rows(platform, JobStage, "job_id", "name", "status", "attempt", "error_code", "output")
    arts = _rows(platform, Artifact, "video_id", "stage", "name", "blob_key", "size_bytes")
    billed = [(k, q) for k, m, q in _rows(platform, UsageRecord, "source_key", "metric", "quantity")
              if m == "processing_minutes"]
    usage, quantity = Counter(k for k, _ in billed), dict(billed)
    jobs_of, arts_of = defaultdict(list), defaultdict(list)
    for j in jobs:
        jobs_of[str(j[1])].append(j)
    for a in arts:
        arts_of[str(a[0])].append(a)
    stages_of = defaultdict(list)
    for st in stages:
        stages_of[st[0]].append(st)
    problems, orphans = [], Counter()
    for vid, (_, tid, vstatus, verr, blob_key, dur) in videos.items():
        js = jobs_of[vid]
        if len(js) != 1:
            problems.append(f"{vid}: {len(js)} jobs")
            continue
        job_id, _, jstatus, _ = js[0]
        names = Counter((a[1], a[2]) for a in arts_of[vid])
        problems += [f"{vid}: {n} artifact rows for {k}" for k, n in names.items() if n != 1]
        stored = set(platform.blobs.list_prefix(keys.video_prefix(tid, uuid.UUID(vid))))
        expected = {a[3] for a in arts_of[vid]} | ({blob_key} if blob_key else set())
        for key in stored - expected:  # transcribe's resume state has no rows until the reconciler runs
            checkpoint = "/transcribe/" in key and ("/chunk-" in key or "/route-" in key)
            orphans["transcribe checkpoint" if checkpoint else "other"] += 1
            if not checkpoint:
                problems.append(f"{vid}: orphan blob {key}")
        problems += [f"{vid}: missing blob {k}" for k in expected - stored]
        problems += [f"{vid}: size of {a[3]}" for a in arts_of[vid] if platform.blobs.size(a[3]) != a[4]]
        if jstatus == "succeeded":
            if vstatus != "ready" or verr is not None:
                problems.append(f"{vid}: job succeeded, video {vstatus} {verr}")
            key = f"job:{job_id}:processing_minutes"
            if usage.get(key, 0) != 1 or abs(quantity[key] - dur / 60.0) > 1e-6:
                problems.append(f"{vid}: billed {usage.get(key, 0)} times, {quantity.get(key)} min for {dur} s")
    rows = index_rows(platform, [t for (t,) in _rows(platform, Tenant, "id")])
    dup_rows = sum(n - 1 for n in Counter(r for r, _ in rows).values() if n > 1)
    per_video = Counter(v for _, v in rows)
    index_out = {str(j[1]): (st[5] or {}).get("rows") for j in jobs for st in stages_of[j[0]]
                 if st[1] == "index" and st[2] == "succeeded"}
    index_mismatch = [v for v, n in index_out.items() if per_video.get(v, 0) != n]
    failed = [{"video_id": str(j[1]), "job_error": j[3],
               "stages": [(st[1], st[2], st[3], st[4]) for st in stages_of[j[0]] if st[2] not in ("succeeded",)]}
              for j in jobs if j[2] == "failed"]
    return {
        "accepted_uploads": len(accepted), "videos_in_db": len(videos),
        "lost_uploads": sorted(set(accepted) - set(videos)),
        "videos_not_seen_accepted": len(set(videos) - set(accepted)),
        "jobs_by_status": dict(Counter(j[2] for j in jobs)),
        "failed_by_code": dict(Counter(j[3] for j in jobs if j[2] == "failed")), "failed_jobs": failed[:50],
        "stage_retries": dict(Counter(st[1] for st in stages if st[3] > 1)),
        "stages_run": dict(Counter(st[1] for st in stages if st[2] == "succeeded")),
        "effect_problems": problems[:100], "effect_problem_count": len(problems),
        "orphan_blobs": dict(orphans), "index_rows": len(rows), "index_duplicate_rows": dup_rows,
        "index_rows_mismatch_videos": index_mismatch[:50],
    }


def log_counts(root: Path) -> dict:
    out = Counter()
    for f in root.glob("*.log"):
        text = f.read_text(errors="replace")
        for needle in ("stale message ignored", " lost", "Traceback"):
            out[f"{'api' if f.name.startswith('api') else 'worker'}:{needle.strip()}"] += text.count(needle)
    return dict(out)
