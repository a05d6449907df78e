"""A tus upload's content hash (used for duplicate detection) is right whether it was kept while the
chunks arrived or recomputed from disk because the in-process state was lost."""

from __future__ import annotations

import hashlib

import pytest

from tests.media import make_video

TUS = {"Tus-Resumable": "1.0.0"}


def _tus_upload(client, headers, data: bytes, chunks: int, between=None) -> dict:
    r = client.post("/api/v1/uploads", headers={**headers, **TUS, "Upload-Length": str(len(data))})
    assert r.status_code == 201, r.text
    loc, offset, step = r.headers["Location"], 0, -(-len(data) // chunks)
    while offset < len(data):
        part = data[offset:offset + step]
        r = client.patch(loc, content=part, headers={**headers, **TUS, "Upload-Offset": str(offset),
                                                     "Content-Type": "application/offset+octet-stream"})
        assert r.status_code == 204, r.text
        offset += len(part)
        if between and offset < len(data):
            between()
    return client.get(f"/api/v1/videos/{r.headers['Clipdex-Video-Id']}", headers=headers).json()


@pytest.mark.parametrize("lose_state", [False, True])
def test_tus_hash_matches_the_bytes(client, tenant_a, tmp_path, lose_state):
    from clipdex.api.routes import uploads

    data = make_video(tmp_path / "clip.mp4", seconds=2).read_bytes()
    between = (lambda: uploads._hashes._state.clear()) if lose_state else None
    video = _tus_upload(client, tenant_a.headers, data, chunks=3, between=between)
    assert video["sha256"] == hashlib.sha256(data).hexdigest()
