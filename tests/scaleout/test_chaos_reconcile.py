"""The blob reconciler: what crashes, cancellations and deletions leave behind is removed; nothing a row
references, and nothing a stage may still commit, is touched."""

from __future__ import annotations

import uuid

from clipdex.jobs.reconcile import reconcile_blobs
from clipdex.jobs.worker import Worker
from clipdex.storage import keys
from tests.pipeline.engine_support import QuickStage, artifacts_of, make_tenant, queue_job, registered


def test_reconciler_removes_orphans_and_keeps_what_rows_or_running_stages_need(platform):
    first, gated = QuickStage("first"), QuickStage("gated", ("first",))
    with registered(first, only=True):
        tenant = make_tenant(platform)
        done_video, _ = queue_job(platform, tenant)
        assert Worker(platform, name="t").drain() == 1
    with registered(first, gated, only=True):
        busy_video, _ = queue_job(platform, tenant)  # "gated" waits: its blobs may still be committed
    kept = {a.blob_key for a in artifacts_of(platform, done_video)}
    put = lambda key: platform.blobs.put_bytes(key, b"x") and key  # noqa: E731
    stale_name = put(keys.artifact(tenant, done_video, "first", "1", "renamed-output.txt"))
    old_version = put(keys.artifact(tenant, done_video, "first", "0", "out.txt"))
    in_flight = put(keys.artifact(tenant, busy_video, "gated", "1", "out.txt"))
    gone = uuid.uuid4()  # a video deleted while one of its stages was still writing
    gone_artifact = put(keys.artifact(tenant, gone, "first", "1", "out.txt"))
    gone_original = put(keys.original(tenant, gone, "mp4"))  # or an upload whose row has not committed yet

    assert reconcile_blobs(platform) == {"orphaned_artifacts": 2, "deleted_videos": 1}
    left = set(platform.blobs.list_prefix(keys.tenant_prefix(tenant)))
    assert left == kept | {in_flight, gone_original}
    assert not {stale_name, old_version, gone_artifact} & left
    # past the grace period the original of a video without a row goes too
    assert reconcile_blobs(platform, grace_s=0) == {"orphaned_artifacts": 0, "deleted_videos": 1}
    assert set(platform.blobs.list_prefix(keys.tenant_prefix(tenant))) == kept | {in_flight}
