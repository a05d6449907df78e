"""Named voices: a tenant's speaker profiles, and recognising them in diarized speakers.

Diarization stores each speaker's d-vector centroid in ``speakers.json``. Naming a speaker saves
that centroid as (or averages it into) a tenant-owned profile; a speaker whose centroid is close
enough to a profile of the same tenant carries the profile's name. Matching happens in the diarize
stage (recorded in the artifact) and again when a transcript is read, so naming, renaming or
deleting a profile shows at once in every video of the tenant.
"""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from clipdex.errors import ClipdexError
from clipdex.models import SpeakerProfile

# Cosine similarity of resemblyzer centroids, tuned on espeak-ng voices: the same voice on different
# text scores 0.90-0.93; en-us against en-us+f3 / +f2 / +m3 scores 0.76-0.84. (en-us and en-gb
# share one espeak timbre and score like one voice; real voices are further apart.)
MATCH_THRESHOLD = 0.88


class SpeakerNotFound(ClipdexError):
    status, code, title = 404, "speaker.not_found", "Speaker not found"


def unit(v) -> np.ndarray:
    x = np.asarray(v, dtype=np.float32)
    n = float(np.linalg.norm(x))
    return x / n if n > 0 else x


def to_bytes(v) -> bytes:
    return unit(v).astype("<f4").tobytes()


def from_bytes(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype="<f4")


def tenant_profiles(s: Session, tenant_id: uuid.UUID) -> list[SpeakerProfile]:
    return list(s.scalars(select(SpeakerProfile).where(SpeakerProfile.tenant_id == tenant_id)
                          .order_by(SpeakerProfile.created_at)))


def match(centroids: dict[str, list[float]], profiles: list[SpeakerProfile],
          threshold: float = MATCH_THRESHOLD) -> dict[str, dict]:
    """``{label: {"id", "name", "score"}}`` for speakers that match a profile; each profile names
    at most one speaker of a video (the closest)."""
    if not centroids or not profiles:
        return {}
    labels = list(centroids)
    a = np.stack([unit(centroids[k]) for k in labels])
    b = np.stack([unit(from_bytes(p.embedding)) for p in profiles])
    sim = a @ b.T
    out: dict[str, dict] = {}
    taken: set[int] = set()
    for i, j in sorted(np.ndindex(sim.shape), key=lambda ij: -sim[ij]):
        if sim[i, j] < threshold:
            break
        if labels[i] in out or j in taken:
            continue
        out[labels[i]] = {"id": str(profiles[j].id), "name": profiles[j].name, "score": round(float(sim[i, j]), 4)}
        taken.add(j)
    return out


def name_speaker(s: Session, tenant_id: uuid.UUID, video_id: uuid.UUID, label: str, centroid, name: str
                 ) -> SpeakerProfile:
    """Create the profile ``name`` from this speaker's centroid, or average the centroid into it."""
    p = s.scalar(select(SpeakerProfile).where(SpeakerProfile.tenant_id == tenant_id, SpeakerProfile.name == name))
    if p is None:
        p = SpeakerProfile(tenant_id=tenant_id, name=name, embedding=to_bytes(centroid), samples=1,
                           source_video_id=video_id, source_label=label)
        s.add(p)
    elif not (p.source_video_id == video_id and p.source_label == label):
        mean = unit(from_bytes(p.embedding)) * p.samples + unit(centroid)
        p.embedding, p.samples = to_bytes(mean), p.samples + 1
        p.source_video_id, p.source_label = video_id, label
    s.flush()
    return p
