"""The people (face) gallery's rows: faces, people, merges, splits, deletion. Matching and centroids
are the shared ``people/gallery.py`` (voices use the same). Every function works inside a
tenant-scoped session; blob deletions are returned to the caller to run after the commit (a failed
delete keeps its files, never the reverse)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from clipdex.models import Artifact, Face, Person
from clipdex.people.gallery import Gallery, centroid, pack, unpack
from clipdex.pipeline.artifacts import Faces
from clipdex.tenancy.scope import owned_by

MATCH_THRESHOLD = 0.45  # cosine to a gallery person's centroid that makes a new cluster that person


@dataclass
class NewFace:
    cluster: int
    track: int
    start_s: float
    end_s: float
    box: list
    samples: list
    embedding: np.ndarray
    quality: float
    thumb_key: str | None


def replace_video_faces(s: Session, tenant_id: uuid.UUID, video_id: uuid.UUID, faces: list[NewFace]) -> dict:
    """Idempotent: this video's earlier faces go, its clusters are matched to the gallery (or become
    new people), and people left without faces by the replacement are removed."""
    touched = set(s.scalars(select(Face.person_id).where(Face.video_id == video_id)))
    s.execute(delete(Face).where(Face.video_id == video_id).execution_options(synchronize_session=False))
    s.flush()
    for pid in touched:
        recompute(s, pid)
    gallery = Gallery.of(list(s.scalars(select(Person).where(
        owned_by(Person, tenant_id), Person.face_count > 0))), MATCH_THRESHOLD)
    assigned: dict[int, Person] = {}
    created = matched = 0
    for cl in sorted({f.cluster for f in faces}):
        members = [f for f in faces if f.cluster == cl]
        mean = centroid(f.embedding for f in members)
        best = gallery.closest(mean)
        if best is not None:
            person = best[0]
            matched += 1
        else:
            person = Person(tenant_id=tenant_id, embedding=pack(mean), face_count=0)
            s.add(person)
            s.flush()
            created += 1
        assigned[cl] = person
        for f in members:
            s.add(Face(tenant_id=tenant_id, person_id=person.id, video_id=video_id, track=f.track,
                       start_s=f.start_s, end_s=f.end_s, box=f.box, samples=f.samples,
                       embedding=pack(f.embedding), quality=f.quality, thumb_key=f.thumb_key))
    s.flush()
    for person in {p.id: p for p in assigned.values()}.values():
        recompute(s, person.id)
    return {"people": len(assigned), "new_people": created, "matched_people": matched,
            "person_of_cluster": {str(k): str(v.id) for k, v in assigned.items()}}


def recompute(s: Session, person_id: uuid.UUID) -> None:
    """Centroid, face count and best thumbnail from the person's faces; a person without faces
    and without a name is removed (an unnamed cluster nobody saw any more)."""
    person = s.get(Person, person_id)
    if person is None:
        return
    faces = list(s.scalars(select(Face).where(Face.person_id == person_id)))
    if not faces and not person.name:
        s.delete(person)
        s.flush()
        return
    if faces:
        person.embedding = pack(centroid(unpack(f.embedding) for f in faces))
        best = max(faces, key=lambda f: f.quality)
        person.thumb_key = best.thumb_key
    else:
        person.thumb_key = None
    person.face_count = len(faces)
    s.flush()


def delete_person(s: Session, person: Person, blobs=None) -> list[str]:
    """Removes the person, every face (embedding) of theirs and the face thumbnails; returns blob keys.

    With ``blobs``, the faces.json of every video the person was seen in is rewritten without their
    tracks (times and boxes are biometric traces too) before the commit."""
    faces = list(s.scalars(select(Face).where(Face.person_id == person.id)))
    keys = [f.thumb_key for f in faces if f.thumb_key]
    if keys:
        s.execute(delete(Artifact).where(owned_by(Artifact, person.tenant_id), Artifact.blob_key.in_(keys))
                  .execution_options(synchronize_session=False))
    s.execute(delete(Face).where(Face.person_id == person.id).execution_options(synchronize_session=False))
    s.delete(person)
    s.flush()
    if blobs is not None:
        rewrite_faces_docs(s, blobs, {f.video_id for f in faces})
    return keys


def rewrite_faces_docs(s: Session, blobs, video_ids) -> int:
    """Make each video's faces.json agree with its face rows: tracks without a row (a deleted
    person's) go, the rest get their current person (after merges and splits). Returns how many
    tracks were removed. The blob is overwritten in place, before the caller commits: should the
    commit fail, the document has lost tracks of a person who still exists, never the reverse."""
    removed = 0
    for vid in sorted(video_ids, key=str):
        art = Faces.row(s, vid)
        if art is None:
            continue
        with blobs.open(art.blob_key) as f:
            doc = json.load(f)
        person_of = {int(track): str(pid) for track, pid in s.execute(
            select(Face.track, Face.person_id).where(Face.video_id == vid))}
        tracks = doc.get("tracks") or []
        kept = [dict(t, person_id=person_of[int(t["track"])]) for t in tracks
                if t.get("track") is not None and int(t["track"]) in person_of]
        removed += len(tracks) - len(kept)
        doc["tracks"] = kept
        art.size_bytes = blobs.put_bytes(art.blob_key, json.dumps(doc).encode())
    s.flush()
    return removed


def purge_tenant_faces(s: Session, tenant_id: uuid.UUID) -> tuple[dict, list[str]]:
    """Every face embedding, person and face artifact (faces.json, face crops) of the tenant.
    Returns counts and the blob keys to delete after the commit."""
    arts = list(s.scalars(select(Artifact).where(
        owned_by(Artifact, tenant_id), Artifact.stage == Faces.stage,
        (Artifact.name == Faces.name) | Artifact.name.like("face-%.jpg"))))
    keys = {a.blob_key for a in arts}
    keys |= {k for k in s.scalars(select(Face.thumb_key).where(owned_by(Face, tenant_id))) if k}
    n_faces = int(s.scalar(select(func.count()).select_from(Face).where(owned_by(Face, tenant_id))) or 0)
    n_people = int(s.scalar(select(func.count()).select_from(Person).where(owned_by(Person, tenant_id))) or 0)
    if arts:
        s.execute(delete(Artifact).where(owned_by(Artifact, tenant_id), Artifact.id.in_([a.id for a in arts]))
                  .execution_options(synchronize_session=False))
    s.execute(delete(Face).where(owned_by(Face, tenant_id)).execution_options(synchronize_session=False))
    s.execute(delete(Person).where(owned_by(Person, tenant_id)).execution_options(synchronize_session=False))
    s.flush()
    return {"faces": n_faces, "people": n_people, "artifacts": len(arts)}, sorted(keys)


def merge(s: Session, into: Person, others: list[Person]) -> None:
    for o in others:
        if o.id == into.id:
            continue
        s.execute(update(Face).where(Face.person_id == o.id).values(person_id=into.id)
                  .execution_options(synchronize_session=False))
        if not into.name and o.name:
            into.name = o.name
        s.delete(o)
    s.flush()
    recompute(s, into.id)


def split(s: Session, person: Person, face_ids: list[uuid.UUID], name: str | None) -> Person:
    new = Person(tenant_id=person.tenant_id, name=name, embedding=person.embedding, face_count=0)
    s.add(new)
    s.flush()
    s.execute(update(Face).where(Face.person_id == person.id, Face.id.in_(face_ids)).values(person_id=new.id)
              .execution_options(synchronize_session=False))
    s.flush()
    recompute(s, new.id)
    recompute(s, person.id)
    return new


def video_count(s: Session, person_id: uuid.UUID) -> int:
    return int(s.scalar(select(func.count(func.distinct(Face.video_id))).where(Face.person_id == person_id)) or 0)
