"""Planting canaries in tenant B (the canary leak scan, issue 18).

Each canary is a unique word put into one place B's data can live: titles, tags, the tenant's name,
transcripts and a correction, on-screen text, visual tags, person and speaker names, a summary,
datasets, a glossary, policies, keys, invitations, members, and inputs that end in errors. Where the
API sets the value, B's owner sets it through the API; where only a pipeline stage writes it (the
transcript, on-screen text, tags), the artifact is written where the stage writes it and the real
services derive the rest from it (summary, search index).
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from dataclasses import dataclass, field

from clipdex.models import Artifact, Face, Person, SpeakerProfile
from clipdex.storage import keys
from tests.conftest import add_user
from tests.training.support import transcript_doc

V = "/api/v1"
COUNT = 50

# Sentences of B's transcript; A's library says similar things without the canary, so A's searches and
# questions have near matches in both tenants and a missing tenant filter would surface B's.
SAID = ["The quarterly budget review code word is {}.", "Our launch partner for the spring campaign is {}.",
        "The secret project in the Lisbon office is called {}.", "Please send the signed contract to {} today.",
        "The new warehouse robot is named {}.", "The password hint for the archive is {}.",
        "Maria said the customer account number is {}.", "The board approved the budget under the name {}.",
        "Next week the marketing team presents {}.", "The video platform migration is tracked as {}.",
        "The conference keynote speaker will be {}.", "Our biggest competitor this year is {}."]
A_SAID = ["The quarterly budget review starts on Monday.", "Our launch partner for the spring campaign is local.",
          "The project in the Lisbon office is on schedule.", "Please send the signed contract to legal today.",
          "The board approved the budget for the new video platform."]


def make_canaries(rng: random.Random, n: int = COUNT) -> list[str]:
    """Unique lower-case words that occur nowhere else (``kz`` + 12 hex digits)."""
    out: set[str] = set()
    while len(out) < n:
        out.add(f"kz{rng.getrandbits(48):012x}")
    return sorted(out, key=lambda c: rng.random())


@dataclass
class Planted:
    where: dict[str, str] = field(default_factory=dict)  # canary -> where it was put

    @property
    def canaries(self) -> list[str]:
        return list(self.where)


def _put_json(platform, tenant_id: uuid.UUID, video_id: uuid.UUID, stage: str, name: str, doc: dict) -> None:
    """An artifact where its stage stores it (row and blob), replacing an earlier one of that name."""
    from sqlalchemy import delete

    key = keys.artifact(tenant_id, video_id, stage, "1", name)
    size = platform.blobs.put_bytes(key, json.dumps(doc).encode())
    with platform.db.tenant(tenant_id) as s:
        s.execute(delete(Artifact).where(Artifact.video_id == video_id, Artifact.stage == stage,
                                         Artifact.name == name))
        s.add(Artifact(tenant_id=tenant_id, video_id=video_id, stage=stage, version="1", name=name, blob_key=key,
                       content_type="application/json", size_bytes=size))


def write_talk(platform, tenant_id: uuid.UUID, video_id: uuid.UUID, sentences: list[str],
               ocr: list[str] = (), tags: list[str] = ()) -> None:
    """Transcript, on-screen text and tags of a video as the stages write them; then the real summary
    and index services derive the summary and the search rows from them."""
    from clipdex.rag.summarize import summary_document
    from clipdex.search.embed import get_embedder
    from clipdex.search.indexer import index_video

    doc = transcript_doc(sentences)
    _put_json(platform, tenant_id, video_id, "transcribe", "transcript.json", doc)
    _put_json(platform, tenant_id, video_id, "visual", "text.json", {"spans": [
        {"text": t, "start_s": 2.0 * i, "end_s": 2.0 * i + 1.5, "box": [0.1, 0.1, 0.5, 0.2], "score": 0.9}
        for i, t in enumerate(ocr)]})
    _put_json(platform, tenant_id, video_id, "visual", "tags.json", {"tags": [
        {"tag": t, "start_s": 3.0 * i, "end_s": 3.0 * i + 2.0, "score": 0.8} for i, t in enumerate(tags)]})
    summary = summary_document(doc, get_embedder(platform.settings), duration=doc["duration_s"], scene_cuts=[])
    _put_json(platform, tenant_id, video_id, "summarize", "summary.json", summary)
    index_video(platform, tenant_id, video_id)


def _ok(r, *codes: int) -> dict:
    assert r.status_code in (codes or (200, 201, 202, 204)), r.text
    return r.json() if r.content and "json" in r.headers.get("content-type", "") else {}


def plant(platform, client, b, rng: random.Random) -> Planted:
    """Put COUNT canaries into tenant B (``b`` is the matrix's Side of B, already processed)."""
    c = iter(make_canaries(rng))
    p = Planted()

    def take(where: str) -> str:
        word = next(c)
        p.where[word] = where
        return word

    h, vid, tid = b.headers["owner"], b.refs["video"], b.tenant_id
    said = [s.format(take(f"transcript sentence {i}")) for i, s in enumerate(SAID)]
    ocr = [f"Slide {take(f'on-screen text {i}')}" for i in range(5)]
    tags = [take(f"visual tag {i}") for i in range(3)]
    write_talk(platform, tid, uuid.UUID(vid), said, ocr, tags)
    _ok(client.patch(f"{V}/videos/{vid}", headers=h, json={"title": f"Review {take('video title')}",
                                                             "tags": [take("video tag")]}))
    _ok(client.patch(f"{V}/videos/{b.refs['queued_video']}", headers=h, json={"title": take("queued video title")}))
    _ok(client.patch(f"{V}/videos/{vid}/transcript/segments/1", headers=h,
                     json={"text": f"Our launch partner for the spring campaign is {take('transcript correction')}."}))
    _ok(client.patch(f"{V}/tenant", headers=h, json={"name": take("tenant name")}))
    _ok(client.post(f"{V}/api-keys", headers=h, json={"name": take("API key name"), "scopes": ["read"]}))
    _ok(client.post(f"{V}/invitations", headers=h, json={"email": f"{take('invitation e-mail')}@b.example.com",
                                                          "role": "viewer"}))
    _ok(client.post(f"{V}/compliance/policies", headers=h, json={
        "name": take("policy name"), "title": take("policy title"), "base": "kids"}))
    _ok(client.put(f"{V}/glossary", headers=h, json={"terms": [take("glossary term"), take("glossary term 2")]}))
    _ok(client.patch(f"{V}/people/{b.refs['person']}", headers=h, json={"name": take("person name")}))
    _ok(client.post(f"{V}/datasets/{b.refs['dataset']}/items", headers=h, json={
        "question": f"What is {take('dataset question')}?", "answer": take("dataset answer"), "video_id": vid}))
    _ok(client.post(f"{V}/datasets", headers=h, json={"name": take("dataset name"), "video_ids": [vid]}))
    add_user(platform, tid, f"{take('member e-mail')}@b.example.com", "member")
    with platform.db.tenant(tid) as s:  # no API writes these: voices come from diarization, faces from the visual stage
        s.get(SpeakerProfile, uuid.UUID(b.refs["speaker"])).name = take("speaker name")
        s.add(SpeakerProfile(tenant_id=tid, name=take("speaker name 2"), embedding=bytes(1024),
                             source_video_id=uuid.UUID(vid), source_label="S1"))
        person = Person(tenant_id=tid, name=take("person with a face in B's video"), embedding=bytes(512))
        s.add(person)
        s.flush()
        s.add(Face(tenant_id=tid, person_id=person.id, video_id=uuid.UUID(vid), embedding=bytes(512),
                   start_s=0.0, end_s=4.0))
    from clipdex.search.indexer import index_video

    index_video(platform, tid, uuid.UUID(vid))  # the faces and the corrected segment into the index
    _plant_errors(client, h, vid, take)
    assert len(p.where) == COUNT, len(p.where)
    return p


def _plant_errors(client, h: dict, vid: str, take) -> None:
    """Inputs of B that end in an error or a refusal: nothing of them may reach A either."""
    client.post(f"{V}/videos/import", headers=h, json={"url": f"https://{take('refused import URL')}.invalid/x.mp4"})
    client.post(f"{V}/auth/login", json={"email": f"{take('failed sign-in e-mail')}@b.example.com",
                                         "password": "wrong password here"})
    client.post(f"{V}/auth/password-reset", json={"email": f"{take('password-reset e-mail')}@b.example.com"})
    meta = "filename " + base64.b64encode(f"{take('tus upload file name')}.mp4".encode()).decode()
    client.post(f"{V}/uploads", headers={**h, "Tus-Resumable": "1.0.0", "Upload-Length": "5000",
                                         "Upload-Metadata": meta})
    client.post(f"{V}/uploads/presigned", headers=h, json={"filename": f"{take('presigned file name')}.mp4",
                                                           "size": 1000})
    client.patch(f"{V}/videos/{vid}", headers=h, json={"title": take("over-long title") * 60})
    client.get(f"{V}/search", headers=h, params={"q": take("B's own search")})
    client.post(f"{V}/ask", headers=h, json={"question": f"Who is {take('B question')}?"})
    client.post(f"{V}/summarize", headers=h, json={"query": take("B summary query")})
    client.put(f"{V}/compliance/default", headers=h, json={"policy": take("unknown default policy")})
    client.put(f"{V}/speech/settings", headers=h, json={"default_language": take("bad speech language")})
