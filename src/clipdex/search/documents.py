"""Index rows of one video, built from its stored artifacts (the index is derived data).

Every row is a time span of one modality with searchable text: transcript windows, on-screen text
spans, visual tags, sound events, people appearances and shots. Each row also carries who and what
is present during its span (people, tags, speaker) so filters work across modalities, and the
keyframe thumbnail of the shot it falls in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from clipdex.models import Artifact, Face, Person, Video
from clipdex.pipeline.artifacts import JsonArtifact, OnScreenText, Shots, SoundEvents, Tags
from clipdex.search.store import words_json
from clipdex.speech import transcript as transcripts
from clipdex.speech import words as wording

WINDOW_WORDS = 32
WINDOW_S = 16.0


@dataclass
class Source:
    """What one video contributes to the index, read in one tenant transaction."""

    video: dict
    segments: list[dict] = field(default_factory=list)
    language: str | None = None
    ocr: list[dict] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    sounds: list[dict] = field(default_factory=list)
    faces: list[dict] = field(default_factory=list)
    shots: list[dict] = field(default_factory=list)
    keyframes: dict[str, str] = field(default_factory=dict)  # artifact name -> blob key (full and -160)


def _doc(platform, s, video_id, kind: type[JsonArtifact]) -> dict:
    return kind.doc_of(platform, s, video_id) or {}


def load_source(platform, tenant_id: uuid.UUID, video_id: uuid.UUID) -> Source | None:
    with platform.db.tenant(tenant_id, readonly=True) as s:
        v = s.get(Video, video_id)
        if v is None:
            return None
        src = Source(video={"id": str(v.id), "title": v.title, "tags": list(v.tags or []), "language": v.language,
                            "uploaded_ts": v.created_at.timestamp()})
        try:
            tr = transcripts.load(platform, s, video_id)
            src.segments, src.language = tr["segments"], tr.get("language")
        except transcripts.NotReady:
            pass
        src.ocr = _doc(platform, s, video_id, OnScreenText).get("spans", [])
        src.tags = _doc(platform, s, video_id, Tags).get("tags", [])
        src.shots = _doc(platform, s, video_id, Shots).get("shots", [])
        src.sounds = [e for e in _doc(platform, s, video_id, SoundEvents).get("events", [])
                      if e.get("tag") != "silence"]
        src.keyframes = {a.name: a.blob_key for a in s.scalars(select(Artifact).where(
            Artifact.video_id == video_id, Artifact.stage == "visual", Artifact.name.like("keyframe-%.jpg")))}
        rows = s.execute(select(Face.person_id, Face.start_s, Face.end_s, Person.name).join(
            Person, Person.id == Face.person_id).where(Face.video_id == video_id)).all()
        src.faces = [{"person_id": str(p), "start": a, "end": b, "name": n} for p, a, b, n in rows]
    return src


def _overlaps(a0: float, a1: float, b0: float, b1: float) -> bool:
    return a0 <= b1 and b0 <= a1


class Context:
    """Answers "who/what is present between a and b" for filters and thumbnails."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.tag_spans = [(t["start_s"], t["end_s"], t["tag"]) for t in src.tags]
        self.tag_spans += [(e["start"], e["end"], e["tag"]) for e in src.sounds]

    def people(self, a: float, b: float) -> list[str]:
        return sorted({f["person_id"] for f in self.src.faces if _overlaps(a, b, f["start"], f["end"])})

    def tags(self, a: float, b: float) -> list[str]:
        return sorted({t for t0, t1, t in self.tag_spans if _overlaps(a, b, t0, t1)})

    def thumb(self, a: float, b: float) -> str | None:
        """The keyframe of the shot on screen where the span starts (where a click opens the player)."""
        t = min(a + 0.5, (a + b) / 2)
        for shot in self.src.shots:
            if shot["start_s"] <= t < shot["end_s"] or shot is self.src.shots[-1]:
                name = (shot.get("keyframe") or "").replace(".jpg", "-160.jpg")
                if name in self.src.keyframes:
                    return self.src.keyframes[name]
        return next((k for n, k in self.src.keyframes.items() if n.endswith("-160.jpg")), None)


def transcript_windows(segments: list[dict]) -> list[dict]:
    """Consecutive segments grouped into windows of about WINDOW_WORDS words or WINDOW_S seconds.

    A window never splits a segment; a long segment is its own window. Windows overlap by one
    segment so a sentence at a boundary is found with its context on both sides.
    """
    windows, i = [], 0
    while i < len(segments):
        j, words = i, 0
        while j < len(segments) and (j == i or (words + len(segments[j]["words"]) <= WINDOW_WORDS
                                                 and segments[j]["end"] - segments[i]["start"] <= WINDOW_S)):
            words += len(segments[j]["words"])
            j += 1
        windows.append(segments[i:j])
        i = j if j - i == 1 or j >= len(segments) else j - 1
    return windows


def _row(src: Source, ctx: Context, kind: str, n: int, a: float, b: float, text: str, **extra) -> dict:
    row = {"id": f"{src.video['id']}:{kind}:{n}", "video_id": src.video["id"], "modality": kind,
           "start": round(float(a), 3), "end": round(float(max(a, b)), 3), "text": text.strip(),
           "speaker": None, "language": src.language or src.video["language"],
           "people": ctx.people(a, b), "tags": ctx.tags(a, b), "words": None, "thumb_key": ctx.thumb(a, b),
           "uploaded_ts": src.video["uploaded_ts"]}
    row.update(extra)
    return row


def build_rows(src: Source) -> list[dict]:
    """Rows without vectors (the indexer embeds ``text``)."""
    ctx, rows = Context(src), []
    for n, win in enumerate(transcript_windows(src.segments)):
        speakers = [seg.get("speaker_name") or seg.get("speaker") for seg in win]
        main = max(set(speakers), key=speakers.count) if any(speakers) else None
        words = wording.index_pairs(w for seg in win for w in seg["words"])
        rows.append(_row(src, ctx, "transcript", n, win[0]["start"], win[-1]["end"],
                         " ".join(seg["text"].strip() for seg in win), speaker=main, words=words_json(words),
                         language=win[0].get("language") or src.language))
    for n, sp in enumerate(src.ocr):
        rows.append(_row(src, ctx, "ocr", n, sp["start_s"], sp["end_s"], sp["text"]))
    for n, t in enumerate(src.tags):
        rows.append(_row(src, ctx, "tag", n, t["start_s"], t["end_s"], t["tag"].replace("_", " ")))
    for n, e in enumerate(src.sounds):
        rows.append(_row(src, ctx, "sound", n, e["start"], e["end"], e["tag"].replace("_", " ")))
    for n, f in enumerate(src.faces):
        rows.append(_row(src, ctx, "face", n, f["start"], f["end"], f["name"] or "person"))
    for shot in src.shots:
        a, b = shot["start_s"], shot["end_s"]
        seen = [sp["text"] for sp in src.ocr if _overlaps(a, b, sp["start_s"], sp["end_s"])][:8]
        desc = ", ".join(ctx.tags(a, b)[:8] + seen)
        if desc:
            rows.append(_row(src, ctx, "shot", shot["index"], a, b, desc))
    return [r for r in rows if r["text"]]
