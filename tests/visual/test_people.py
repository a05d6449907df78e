"""Faces tracked, clustered, matched to the tenant's gallery; name, split, merge, delete; the switch."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
from sqlalchemy import func, select

from clipdex.models import Face
from tests.conftest import drain, upload
from tests.visual.media import make_face_video


@pytest.fixture(scope="module")
def face_clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("faces")
    img = skimage.data.astronaut()[..., ::-1]
    cv2.imwrite(str(d / "a.png"), img)
    other = np.ascontiguousarray(cv2.convertScaleAbs(img[:, ::-1], alpha=0.8, beta=-10))  # mirrored, darker
    cv2.imwrite(str(d / "b.png"), other)
    return make_face_video(d / "a.mp4", d / "a.png"), make_face_video(d / "b.mp4", d / "b.png", seconds=1.5)


@pytest.mark.slow
def test_gallery_lifecycle(visual_platform, vclient, vtenant, face_clips):
    h, api = vtenant.headers, "/api/v1"
    v1 = upload(vclient, vtenant, face_clips[0]).json()["id"]
    drain(visual_platform)
    seen = vclient.get(f"{api}/videos/{v1}/people", headers=h).json()
    assert len(seen) == 1 and len(seen[0]["appearances"]) == 1, seen
    app = seen[0]["appearances"][0]
    assert app["start_s"] == 0.0 and 1.4 <= app["end_s"] <= 2.0  # the face leaves with the cut at 2 s
    person = seen[0]["id"]
    assert seen[0]["thumbnail_url"]

    v2 = upload(vclient, vtenant, face_clips[1]).json()["id"]
    drain(visual_platform)
    people = vclient.get(f"{api}/people", headers=h).json()["items"]
    assert [p["id"] for p in people] == [person] and people[0]["face_count"] == 2  # matched through the gallery

    assert vclient.patch(f"{api}/people/{person}", headers=h, json={"name": "Eileen"}).json()["name"] == "Eileen"
    detail = vclient.get(f"{api}/people/{person}", headers=h).json()
    assert {a["video_id"] for a in detail["appearances"]} == {v1, v2}

    face_v2 = next(a["face_id"] for a in detail["appearances"] if a["video_id"] == v2)
    r = vclient.post(f"{api}/people/{person}/split", headers=h, json={"face_ids": [face_v2], "name": "Copy"})
    assert r.status_code == 201, r.text
    new = r.json()["id"]
    assert len(vclient.get(f"{api}/people", headers=h).json()["items"]) == 2
    merged = vclient.post(f"{api}/people/{person}/merge", headers=h, json={"person_ids": [new]}).json()
    assert merged["face_count"] == 2 and merged["name"] == "Eileen"
    assert vclient.get(f"{api}/people/{new}", headers=h).status_code == 404

    with visual_platform.db.tenant(vtenant.id) as s:
        thumbs = list(s.scalars(select(Face.thumb_key)))
    assert len(thumbs) == 2 and all(visual_platform.blobs.exists(k) for k in thumbs)
    assert vclient.delete(f"{api}/people/{person}", headers=h).status_code == 204
    assert vclient.get(f"{api}/people", headers=h).json()["items"] == []
    with visual_platform.db.tenant(vtenant.id) as s:
        assert s.scalar(select(func.count()).select_from(Face)) == 0  # embeddings gone
    assert not any(visual_platform.blobs.exists(k) for k in thumbs)  # face crops gone

    # the tenant switches face analysis off: a new video finds no faces
    assert vclient.put(f"{api}/people/settings", headers=h, json={"face_analysis": False}).status_code == 200
    assert vclient.get(f"{api}/people/settings", headers=h).json() == {"face_analysis": False}
    clip = face_clips[0].with_name("a2.mp4")
    clip.write_bytes(face_clips[0].read_bytes() + b"\0")  # a different file (uploads are de-duplicated)
    v3 = upload(vclient, vtenant, clip).json()["id"]
    drain(visual_platform)
    assert vclient.get(f"{api}/videos/{v3}/people", headers=h).json() == []
    assert vclient.get(f"{api}/people", headers=h).json()["items"] == []
