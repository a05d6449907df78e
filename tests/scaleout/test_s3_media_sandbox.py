"""The media sandbox on the scaled-out storage: blobs fetched from S3 into a worker's scratch folder
are readable only by the FFmpeg process of their own job."""

from __future__ import annotations

import uuid

import pytest

from clipdex.media import sandbox
from clipdex.media.runner import Limits, run_tool
from clipdex.models import Video
from clipdex.storage.s3 import S3BlobStore
from tests.api.ingest_support import assert_nothing_kept, assert_problem
from tests.conftest import api_client, drain, migrated_sqlite_settings, new_tenant, open_platform, upload
from tests.media import make_video
from tests.security.test_media_indirection import _hls


@pytest.fixture
def s3_sq(tmp_path, s3_overrides):
    with open_platform(migrated_sqlite_settings(tmp_path, **s3_overrides)) as p:
        assert isinstance(p.blobs, S3BlobStore)
        with api_client(p) as c:
            yield p, c


@pytest.mark.skipif(sandbox.abi_version() < 1, reason="this kernel has no Landlock")
def test_another_jobs_scratch_copy_is_unreadable_and_playlists_are_refused(s3_sq, tmp_path):
    platform, client = s3_sq
    a = new_tenant(platform, client, "Alpha")
    b = new_tenant(platform, client, "Bravo")
    r = upload(client, a, make_video(tmp_path / "a.mp4", seconds=1, size="96x64", tone_hz=660))
    assert r.status_code == 201, r.text
    with platform.db.tenant(a.id) as s:
        key = s.get(Video, uuid.UUID(r.json()["id"])).blob_key
    own = make_video(tmp_path / "b.mp4", seconds=1, size="96x64", tone_hz=440)
    limits = Limits(timeout_s=20, memory_bytes=1024**3)
    with platform.blobs.local_path(key) as a_scratch:  # A's job has its source in the worker's scratch
        assert a_scratch.exists()
        hls = tmp_path / "x.mp4"
        hls.write_text(_hls(str(a_scratch)))
        assert_problem(upload(client, b, hls), 422, "media.playlist_not_allowed")
        with sandbox.prepare(platform.settings, own) as inp:  # B's job, run at the same moment
            mine = run_tool(["ffprobe", "-v", "error", "-show_format", f"file:{inp.path}"], limits, inp.sandbox,
                            inp.workdir)
            theirs = run_tool(["ffprobe", "-v", "error", "-show_format", f"file:{a_scratch}"], limits,
                              inp.sandbox, inp.workdir)
    assert mine.returncode == 0, mine.stderr
    assert theirs.returncode != 0 and "Permission denied" in theirs.stderr, theirs.stderr
    assert_nothing_kept(platform, b.id)
    drain(platform)
    assert client.get(f"/api/v1/videos/{r.json()['id']}", headers=a.headers).json()["status"] == "ready"
