"""Deleting a video, a person, a voice, a member and a whole tenant leaves nothing of them behind.

One tenant gets two processed videos (the real pipeline: transcription, diarization, faces, the
search index) of one face and one voice, a named person, a named voice, a second member who came
through an invitation, a dataset built from the transcripts (with its stored snapshot) and a model
version with weights in the blob store and the local serving cache. After each deletion a scan reads
every column of every row of every table, the key and the bytes of every blob, every row of every
version of every index table and the bytes of every index file, looking for the deleted ids, names,
transcript words and embedding bytes. Audit events and billing records are the only rows allowed to
keep ids (never names or content), and only as documented in ``tenancy/deletion.py``. Another tenant,
seeded with a row in every table, must keep all of it.

SQLite with the local store always; PostgreSQL with the S3 test server where PostgreSQL is up
(under CI=true a missing PostgreSQL fails the run, like every PostgreSQL test here).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from sqlalchemy import select

from clipdex.jobs.janitor import sweep
from clipdex.models import Base, Face, Membership, Person, RefreshToken, SpeakerProfile, TrainedModel
from clipdex.pipeline import registry
from clipdex.platform import Platform
from clipdex.search.store import get_store
from clipdex.storage import keys
from clipdex.tenancy.deletion import KEPT_TABLES
from clipdex.tenancy.system import SystemReason, system_session
from tests.conftest import (PASSWORD, api_client, bearer, drain, login, make_settings, migrated_sqlite_settings,
                            new_tenant, truncate_all, upload)
from tests.scaleout.s3_server import moto_s3, s3_overrides  # noqa: F401  (fixtures)
from tests.security.seed import seed_tenant, tenant_rows
from tests.speech import media

STAGES = {"probe", "extract_audio", "thumbnail", "transcribe", "diarize", "visual", "index", "compliance"}
KEPT = set(KEPT_TABLES)  # audit and billing rows keep ids only, by design


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    """Two short MP4s of one face (the second view mirrored and darker: other embeddings, the same person)
    and one voice saying different things."""
    d = tmp_path_factory.mktemp("deletion")
    img = skimage.data.astronaut()[..., ::-1]
    cv2.imwrite(str(d / "face0.png"), img)
    cv2.imwrite(str(d / "face1.png"), np.ascontiguousarray(cv2.convertScaleAbs(img[:, ::-1], alpha=0.8, beta=-10)))
    out = []
    for n, text in enumerate((media.SENTENCE_A, media.SENTENCE_B)):
        wav = media.speak(d / f"s{n}.wav", text)
        clip = d / f"clip{n}.mp4"
        subprocess.run([media.FFMPEG, "-v", "error", "-y", "-loop", "1", "-i", str(d / f"face{n}.png"), "-i", str(wav),
                        "-vf", "scale=640:480,fps=10,format=yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
                        "-c:a", "aac", "-shortest", str(clip)], check=True)
        out.append(clip)
    return out


def _off() -> list[str]:
    return [n for n in registry.all_stages() if n not in STAGES]


@pytest.fixture(params=["sqlite-local", pytest.param("postgres-s3", marks=pytest.mark.postgres)])
def dplatform(request, tmp_path):
    if request.param == "postgres-s3":
        url = request.getfixturevalue("pg_database")
        truncate_all(url)
        s3 = request.getfixturevalue("moto_s3")
        settings = make_settings(tmp_path, database_url=url, disabled_stages=_off(), asr_threads=2,
                                 **s3.overrides())
    else:
        settings = migrated_sqlite_settings(tmp_path, disabled_stages=_off(), asr_threads=2)
    p = Platform.from_settings(settings)
    yield p
    p.close()


# --- the scan -------------------------------------------------------------------------------------

def _as_bytes(value) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, uuid.UUID):
        return f"{value} {value.hex}".encode()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str).encode()
    return str(value).encode()


def _needles(values: dict[str, object]) -> dict[str, bytes]:
    out = {}
    for label, v in values.items():
        if isinstance(v, uuid.UUID):
            out[label] = str(v).encode()
            out[label + " (hex)"] = v.hex.encode()
        elif isinstance(v, str):
            out[label] = v.encode()
        else:
            out[label] = bytes(v)
    return out


def scan_db(platform, needles: dict[str, bytes]) -> list[tuple[str, str, dict]]:
    """(table, needle, row) for every row of every table with a needle in any column."""
    hits = []
    with system_session(platform, SystemReason.OPERATOR, readonly=True) as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)):
                values = dict(row._mapping)
                for col, value in values.items():
                    raw = _as_bytes(value)
                    hits += [(f"{table.name}.{col}", label, values) for label, n in needles.items() if n in raw]
    return hits


def _files(settings, root: str):
    """(name, bytes) of every file under a folder or an s3:// prefix, temp files and folders included."""
    root = str(root).rstrip("/")
    if root.startswith("s3://"):
        import boto3

        c = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region,
                         aws_access_key_id=settings.s3_access_key_id,
                         aws_secret_access_key=settings.s3_secret_access_key)
        bucket, prefix = root[5:].split("/", 1)
        for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
            for o in page.get("Contents", ()):
                yield o["Key"], c.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        return
    for path in Path(root).rglob("*"):
        yield str(path), path.read_bytes() if path.is_file() else b""


def scan_blobs(platform, needles: dict[str, bytes]) -> list[tuple[str, str]]:
    """Every object of the blob store: its key and its bytes."""
    root = getattr(platform.blobs, "root", None) or platform.settings.storage_url
    return [(name, label) for name, data in _files(platform.settings, root)
            for label, n in needles.items() if n in name.encode() or n in data]


def _index_files(platform):
    return _files(platform.settings, platform.settings.resolved_index_uri)


def scan_index(platform, tenant_ids, needles: dict[str, bytes]) -> list[tuple[str, str]]:
    """Rows of every version of every table of the tenants, and the raw bytes and names of every file."""
    hits, store = [], get_store(platform.settings)
    for tid in tenant_ids:
        for name in store.all_tables(tid):
            table = store.db(tid).open_table(name)
            for v in table.list_versions():
                table.checkout(v["version"])
                rows = table.to_arrow().drop_columns(["vector"]).to_pylist()
                blob = json.dumps(rows, default=str).encode()
                hits += [(f"{tid}/{name}@v{v['version']}", label) for label, n in needles.items() if n in blob]
            table.checkout_latest()
    for name, data in _index_files(platform):
        hits += [(name, label) for label, n in needles.items() if n in name.encode() or n in data]
    return hits


def leftovers(platform, tenant_ids, values: dict[str, object], kept=KEPT) -> dict[str, list]:
    """What the scan still finds of ``values`` outside the ``kept`` tables (empty lists: nothing)."""
    needles = _needles(values)
    content = {label for label, v in values.items() if not isinstance(v, uuid.UUID)}  # names, words, embeddings
    hits = scan_db(platform, needles)
    return {"db": [(w, label) for w, label, _ in hits if w.split(".")[0] not in kept][:20],
            "kept rows with content": [(w, label) for w, label, _ in hits
                                       if label in content and w.split(".")[0] in KEPT][:20],
            "blobs": scan_blobs(platform, needles)[:20], "index": scan_index(platform, tenant_ids, needles)[:20]}


# --- the tenant under test --------------------------------------------------------------------------

def _ready(c, h, vid: str) -> None:
    v = c.get(f"/api/v1/videos/{vid}", headers=h).json()
    assert v["status"] == "ready", v


def _rows_of(platform, model, **where) -> list:
    with system_session(platform, SystemReason.OPERATOR, readonly=True) as s:
        q = select(model)
        for col, value in where.items():
            q = q.where(getattr(model, col) == value)
        return list(s.scalars(q))


def _video_values(platform, tenant_id, vid: uuid.UUID) -> dict[str, object]:
    """Ids of the video's rows, its face embeddings and the words only its transcript says."""
    from clipdex.models import Artifact, DatasetItem, Job

    values: dict[str, object] = {"video": vid}
    for model in (Job, Artifact, Face, DatasetItem):
        for r in _rows_of(platform, model, video_id=vid):
            values[f"{model.__tablename__}:{r.id}"] = r.id
            if model is Face:
                values[f"face embedding {r.id}"] = r.embedding
    return values


def _transcript_words(platform, tenant_id, vid: uuid.UUID) -> set[str]:
    key = keys.artifact(tenant_id, vid, "transcribe", registry.get("transcribe").version, "transcript.json")
    with platform.blobs.open(key) as f:
        doc = json.load(f)
    return {w.strip(".,").lower() for seg in doc["segments"] for w in seg["text"].split() if len(w.strip(".,")) >= 7}


def _seed_model(platform, tenant_id) -> TrainedModel:
    """A model version as training leaves it: weights in the blob store, a serving copy in the local cache."""
    with platform.db.tenant(tenant_id) as s:
        m = TrainedModel(tenant_id=tenant_id, base_model="smollm2-135m", method="lora", status="succeeded")
        s.add(m)
        s.flush()
        m.weights_prefix = keys.training_prefix(tenant_id, "models", m.id) + "weights/"
    platform.blobs.put_bytes(keys.training_blob(tenant_id, "models", m.id, "weights", "adapter_model.safetensors"),
                             os.urandom(4096))
    local = platform.settings.resolved_model_cache_dir / "tenants" / str(tenant_id) / str(m.id)
    local.mkdir(parents=True)
    (local / "manifest.json").write_text("{}")
    return m


@pytest.mark.slow
def test_deletion_is_complete(dplatform, clips):
    p, api = dplatform, "/api/v1"
    tag = uuid.uuid4().hex[:8]
    found: dict[str, dict] = {}  # every step's leftovers, reported together
    with api_client(p) as c:
        keep = seed_tenant(p, "Keep")
        keep_blob = keys.artifact(keep.tenant_id, keep.rows["videos"], "probe", "1", "probe.json")
        p.blobs.put_bytes(keep_blob, b'{"keep": true}')
        keep_rows = tenant_rows(p, keep.tenant_id)

        a = new_tenant(p, c, "Gone")
        h = a.headers
        v1 = upload(c, a, clips[0]).json()["id"]
        drain(p)
        _ready(c, h, v1)
        person = c.get(f"{api}/people", headers=h).json()["items"]
        assert len(person) == 1, person
        person_id, person_name, voice_name = person[0]["id"], f"Person {tag}", f"Voice {tag}"
        assert c.patch(f"{api}/people/{person_id}", headers=h, json={"name": person_name}).status_code == 200
        r = c.post(f"{api}/videos/{v1}/speakers/S1/name", headers=h, json={"name": voice_name})
        assert r.status_code == 200, r.text
        voice_id = r.json()["id"]
        v2 = upload(c, a, clips[1]).json()["id"]  # its diarize stage records the named voice, faces join the person
        drain(p)
        _ready(c, h, v2)
        r = c.post(f"{api}/datasets", headers=h, json={"name": f"Dataset {tag}", "video_ids": [v1, v2]})
        assert r.status_code == 202, r.text
        ds = r.json()["id"]
        assert c.get(f"{api}/datasets/{ds}", headers=h).json()["status"] == "ready"
        assert c.get(f"{api}/datasets/{ds}/export", headers=h).status_code == 200  # the stored snapshot
        model = _seed_model(p, a.id)
        inv = c.post(f"{api}/invitations", headers=h, json={"email": f"member-{tag}@example.com", "role": "member"})
        assert c.post(f"{api}/invitations/accept", json={"token": inv.json()["token"], "password": PASSWORD,
                                                         "name": f"Member {tag}"}).status_code == 204
        member = login(c, f"member-{tag}@example.com", tenant=a.slug)
        vid1, vid2 = uuid.UUID(v1), uuid.UUID(v2)
        with p.db.tenant(a.id) as s:
            p1 = s.get(Person, uuid.UUID(person_id))
            assert p1.face_count == 2 and p1.name == person_name
        assert any(voice_name in r for r in _index_text(p, a.id)), "the voice's name was indexed"

        # a video: its rows, blobs, index rows, faces (the person is recomputed), dataset items, snapshot
        words = _transcript_words(p, a.id, vid1) - _transcript_words(p, a.id, vid2)
        assert words, "the two transcripts share every long word"
        gone = _video_values(p, a.id, vid1) | {f"word {w}": w for w in words}
        assert c.delete(f"{api}/videos/{v1}", headers=h).status_code == 204
        found["video"] = leftovers(p, [a.id], gone)
        with p.db.tenant(a.id) as s:  # the person is recomputed from the faces left (their crop too)
            p1 = s.get(Person, uuid.UUID(person_id))
            found["video"]["stale person"] = [] if p1.face_count == 1 else [(p1.face_count, p1.thumb_key)]

        # a person: the person, their faces and embeddings, crops, tracks in faces.json, index rows
        faces = _rows_of(p, Face, person_id=uuid.UUID(person_id))
        gone = {"person": uuid.UUID(person_id), "person name": person_name}
        gone |= {f"face {f.id}": f.id for f in faces} | {f"face embedding {f.id}": f.embedding for f in faces}
        gone |= {"person embedding": _rows_of(p, Person, id=uuid.UUID(person_id))[0].embedding}
        assert c.delete(f"{api}/people/{person_id}", headers=h).status_code == 204
        found["person"] = leftovers(p, [a.id], gone)

        # a voice: the profile, its embedding, the match recorded in speakers.json, index rows naming it
        prof = _rows_of(p, SpeakerProfile, id=uuid.UUID(voice_id))[0]
        gone = {"voice": prof.id, "voice name": voice_name, "voice embedding": prof.embedding}
        assert c.delete(f"{api}/speakers/{voice_id}", headers=h).status_code == 204
        found["voice"] = leftovers(p, [a.id], gone)

        # a member: membership, sessions in this tenant (their access token dies with them), invitations
        members = c.get(f"{api}/members", headers=h).json()["items"]
        uid = uuid.UUID(next(m["user_id"] for m in members if m["email"].startswith("member-")))
        gone = {"member email": f"member-{tag}@example.com"}
        gone |= {f"membership {m.id}": m.id for m in _rows_of(p, Membership, user_id=uid)}
        gone |= {f"session {t.id}": t.id for t in _rows_of(p, RefreshToken, user_id=uid)}
        assert c.delete(f"{api}/members/{uid}", headers=h).status_code == 204
        found["member"] = leftovers(p, [a.id], gone, kept=KEPT | {"users"})  # the account itself is global
        assert c.get(f"{api}/videos", headers=bearer(member["access_token"])).status_code == 401

        # the tenant: every row of it, every blob, its index, the serving cache, accounts left without a tenant
        everything = {f"{t}:{i}": uuid.UUID(i) for t, rows in _tenant_ids(p, a.id).items() for i in rows}
        everything |= {"tenant": a.id, "owner": a.email, "slug": a.slug, "video 2": vid2, "model": model.id}
        owner_id = _rows_of(p, Membership, tenant_id=a.id)[0].user_id
        everything["owner id"] = owner_id
        cache = p.settings.resolved_model_cache_dir / "tenants" / str(a.id)
        assert cache.exists()
        assert c.delete(f"{api}/tenant", headers=h, params={"confirm": "wrong"}).status_code == 422
        assert c.delete(f"{api}/tenant", headers=h, params={"confirm": a.slug}).status_code == 204
        hits = scan_db(p, _needles(everything))
        found["tenant"] = {"db": [(w, lbl) for w, lbl, row in hits if not (
            w.startswith("audit_events.") and row["action"] == "tenant.deleted" and row["tenant_id"] is None)][:20],
            "blobs": scan_blobs(p, _needles(everything))[:20], "index": scan_index(p, [], _needles(everything))[:20],
            "model cache": [str(cache)] if cache.exists() else []}
        assert c.get(f"{api}/videos", headers=h).status_code == 401
        late = keys.artifact(a.id, vid2, "visual", "1", "late.json")  # a stage still running at the deletion
        p.blobs.put_bytes(late, b"{}")
        assert sweep(p).get("deleted_tenants") == 1 and not p.blobs.exists(late)  # the janitor deletes it again

        # the other tenant kept everything
        assert tenant_rows(p, keep.tenant_id) == keep_rows
        assert p.blobs.exists(keep_blob)
        left = {step: {k: v for k, v in f.items() if v} for step, f in found.items()}
        assert left == dict.fromkeys(found, {}), json.dumps(left, indent=1, default=str)


def _index_text(platform, tenant_id) -> list[str]:
    store = get_store(platform.settings)
    return [json.dumps(r, default=str) for name in store.tables(tenant_id)
            for r in store.db(tenant_id).open_table(name).to_arrow().drop_columns(["vector"]).to_pylist()]


def _tenant_ids(platform, tenant_id) -> dict[str, list[str]]:
    with system_session(platform, SystemReason.OPERATOR, readonly=True) as s:
        return {t.name: [str(r.id) for r in s.execute(select(t.c.id).where(t.c.tenant_id == tenant_id))]
                for t in Base.metadata.sorted_tables if "tenant_id" in t.c}
