"""Named voices: a tenant's speaker profiles, and recognising them in diarized speakers.

Diarization stores each speaker's d-vector centroid in ``speakers.json``. Naming a speaker saves
that centroid as (or averages it into) a tenant-owned profile; a speaker whose centroid is close
enough to a profile of the same tenant carries the profile's name. Matching happens in the diarize
stage (recorded in the artifact) and again when a transcript is read, so naming, renaming or
deleting a profile shows at once in every video of the tenant. Matching, centroids and their stored
form are the gallery faces use too (``people/gallery.py``); only the threshold is the voice's own.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipdex.errors import SpeakerNotFound  # re-exported (in __all__): callers catch voices.SpeakerNotFound
from clipdex.models import SpeakerProfile
from clipdex.people.gallery import Gallery, fold, pack, unit
from clipdex.tenancy.scope import owned_by

__all__ = ["MATCH_THRESHOLD", "SpeakerNotFound", "match", "name_speaker", "tenant_profiles", "unit"]

# Cosine similarity of resemblyzer centroids, tuned on espeak-ng voices: the same voice on different
# text scores 0.90-0.93; en-us against en-us+f3 / +f2 / +m3 scores 0.76-0.84. (en-us and en-gb
# share one espeak timbre and score like one voice; real voices are further apart.)
MATCH_THRESHOLD = 0.88


def tenant_profiles(s: Session, tenant_id: uuid.UUID) -> list[SpeakerProfile]:
    return list(s.scalars(select(SpeakerProfile).where(owned_by(SpeakerProfile, tenant_id))
                          .order_by(SpeakerProfile.created_at)))


def match(centroids: dict[str, list[float]], profiles: list[SpeakerProfile],
          threshold: float = MATCH_THRESHOLD) -> dict[str, dict]:
    """``{label: {"id", "name", "score"}}`` for speakers that match a profile; each profile names
    at most one speaker of a video (the closest)."""
    found = Gallery.of(profiles, threshold).assign(centroids)
    return {label: {"id": str(p.id), "name": p.name, "score": round(score, 4)} for label, (p, score) in found.items()}


def name_speaker(s: Session, tenant_id: uuid.UUID, video_id: uuid.UUID, label: str, centroid, name: str
                 ) -> SpeakerProfile:
    """Create the profile ``name`` from this speaker's centroid, or average the centroid into it."""
    p = s.scalar(select(SpeakerProfile).where(owned_by(SpeakerProfile, tenant_id), SpeakerProfile.name == name))
    if p is None:
        p = SpeakerProfile(tenant_id=tenant_id, name=name, embedding=pack(unit(centroid)), samples=1,
                           source_video_id=video_id, source_label=label)
        s.add(p)
    elif not (p.source_video_id == video_id and p.source_label == label):
        p.embedding, p.samples = fold(p.embedding, p.samples, centroid), p.samples + 1
        p.source_video_id, p.source_label = video_id, label
    s.flush()
    return p
