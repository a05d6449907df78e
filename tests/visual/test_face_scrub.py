"""Biometric scrubbing: deleting a person takes their tracks out of faces.json; switching face
analysis off with purge=true deletes every embedding, person and face artifact of the tenant."""

from __future__ import annotations

import json
import uuid

import numpy as np
from sqlalchemy import func, select

from clipdex.models import Artifact, Face, Person
from clipdex.people.service import NewFace, replace_video_faces
from clipdex.storage import keys
from tests.conftest import upload
from tests.media import make_video


def _seed_faces(platform, tenant_id: uuid.UUID, video_id: uuid.UUID) -> dict[int, str]:
    """Two people (orthogonal embeddings), one track each, with crops and faces.json as the stage writes."""
    def art(s, name: str, data: bytes, ctype: str) -> str:
        key = keys.artifact(tenant_id, video_id, "visual", "1", name)
        size = platform.blobs.put_bytes(key, data)
        s.add(Artifact(tenant_id=tenant_id, video_id=video_id, stage="visual", version="1", name=name,
                       blob_key=key, content_type=ctype, size_bytes=size, meta={}))
        return key

    with platform.db.tenant(tenant_id) as s:
        faces = []
        for track in (1, 2):
            emb = np.zeros(512, np.float32)
            emb[track] = 1.0
            thumb = art(s, f"face-{track:05d}.jpg", b"\xff\xd8jpeg", "image/jpeg")
            faces.append(NewFace(track - 1, track, track * 1.0, track * 1.0 + 0.5, [10, 20, 30, 40],
                                 [[track * 1.0, [10, 20, 30, 40]]], emb, 0.9, thumb))
        res = replace_video_faces(s, tenant_id, video_id, faces)
        person_of = {f.track: res["person_of_cluster"][str(f.cluster)] for f in faces}
        doc = [{"track": f.track, "person_id": person_of[f.track], "start_s": f.start_s, "end_s": f.end_s,
                "box": f.box, "thumbnail": f"face-{f.track:05d}.jpg"} for f in faces]
        art(s, "faces.json", json.dumps({"tracks": doc}).encode(), "application/json")
    return person_of


def _faces_doc(platform, tenant_id, video_id) -> dict | None:
    with platform.db.tenant(tenant_id) as s:
        key = s.scalar(select(Artifact.blob_key).where(Artifact.video_id == video_id, Artifact.name == "faces.json"))
    if key is None:
        return None
    with platform.blobs.open(key) as f:
        return json.load(f)


def test_delete_person_scrubs_faces_json_and_purge_deletes_everything(client, platform, tenant_a, tmp_path):
    h, api = tenant_a.headers, "/api/v1"
    vid = uuid.UUID(upload(client, tenant_a, make_video(tmp_path / "c.mp4", seconds=1)).json()["id"])
    person_of = _seed_faces(platform, tenant_a.id, vid)
    assert len(client.get(f"{api}/people", headers=h).json()["items"]) == 2

    gone = person_of[1]
    crop1 = keys.artifact(tenant_a.id, vid, "visual", "1", "face-00001.jpg")
    assert client.delete(f"{api}/people/{gone}", headers=h).status_code == 204
    tracks = _faces_doc(platform, tenant_a.id, vid)["tracks"]
    assert [t["track"] for t in tracks] == [2] and tracks[0]["person_id"] == person_of[2]
    assert gone not in json.dumps(tracks) and not platform.blobs.exists(crop1)
    with platform.db.tenant(tenant_a.id) as s:
        size = s.scalar(select(Artifact.size_bytes).where(Artifact.video_id == vid, Artifact.name == "faces.json"))
        assert size == len(json.dumps({"tracks": tracks}).encode())
        assert s.scalar(select(func.count()).select_from(Face)) == 1

    # purge only goes with switching face analysis off
    r = client.put(f"{api}/people/settings?purge=true", headers=h, json={"face_analysis": True})
    assert r.status_code == 422, r.text
    with platform.db.tenant(tenant_a.id) as s:
        blob_keys = list(s.scalars(select(Artifact.blob_key).where(Artifact.name.like("face%"))))
    assert len(blob_keys) == 2  # faces.json and the remaining crop
    r = client.put(f"{api}/people/settings?purge=true", headers=h, json={"face_analysis": False})
    assert r.status_code == 200, r.text
    assert r.json() == {"face_analysis": False, "purged": {"faces": 1, "people": 1, "artifacts": 2}}
    with platform.db.tenant(tenant_a.id) as s:
        assert s.scalar(select(func.count()).select_from(Face)) == 0
        assert s.scalar(select(func.count()).select_from(Person)) == 0
        assert s.scalar(select(func.count()).select_from(Artifact).where(Artifact.name.like("face%"))) == 0
    assert not any(platform.blobs.exists(k) for k in blob_keys)
    assert client.get(f"{api}/people/settings", headers=h).json() == {"face_analysis": False}
    # without purge the switch only stops new analysis
    assert client.put(f"{api}/people/settings", headers=h, json={"face_analysis": True}).json() == {
        "face_analysis": True, "purged": None}


def test_a_run_stores_no_faces_once_the_switch_is_off(client, platform, tenant_a, tmp_path):
    from clipdex.analyzers.visual import store_faces
    from clipdex.pipeline.artifacts import BlobOut
    from clipdex.pipeline.stage import Commit

    h = tenant_a.headers
    assert client.put("/api/v1/people/settings", headers=h, json={"face_analysis": False}).status_code == 200
    face = NewFace(0, 1, 0.0, 1.0, [0, 0, 10, 10], [], np.ones(512, np.float32), 0.9, "k")  # found before the flip
    saved, output = [], {"face_tracks": 1}
    write = store_faces([face], [BlobOut("face-00001.jpg", b"jpeg", "image/jpeg")])
    with platform.db.tenant(tenant_a.id) as s:  # what the runner does in the stage's fenced commit
        write(Commit(session=s, tenant_id=tenant_a.id, video_id=uuid.uuid4(), output=output, save=saved.append))
    assert output["face_tracks"] == 0 and "faces_skipped" in output
    assert saved == []  # neither the crop nor faces.json
    with platform.db.tenant(tenant_a.id) as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 0
