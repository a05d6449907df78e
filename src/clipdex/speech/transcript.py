"""The transcript a reader sees: the stage's transcript, speakers from diarization, human corrections."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipdex.errors import TranscriptNotReady as NotReady, TranslationUnavailable
from clipdex.models import TranscriptCorrection
from clipdex.pipeline.artifacts import Input, Source, Speakers, Transcript
from clipdex.speech import speakers as voices
from clipdex.speech import words as wording


TRANSLATION_TRACK = "en-translation"


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def assign_speakers(segments: list[dict], turns: list[dict]) -> list[dict]:
    """Give every word the speaker it overlaps most (else the nearest turn) and split segments where
    the speaker changes, so each segment has one speaker."""
    if not turns:
        return segments
    out = []
    for seg in segments:
        for i, w in enumerate(seg["words"]):
            if i and not wording.spaced(w, seg["words"][i - 1]):  # "-lit" belongs to whoever said "quarter"
                w["speaker"] = seg["words"][i - 1]["speaker"]
                continue
            best = max(turns, key=lambda t: (_overlap(w["start"], w["end"], t["start"], t["end"]),
                                             -min(abs(w["start"] - t["end"]), abs(w["end"] - t["start"]))))
            w["speaker"] = best["speaker"]
        run: list[dict] = []
        for w in seg["words"] + [None]:
            if run and (w is None or w["speaker"] != run[0]["speaker"]):
                out.append(dict(seg, start=run[0]["start"], end=run[-1]["end"], speaker=run[0]["speaker"],
                                text=wording.join(run) if len(run) != len(seg["words"]) else seg["text"],
                                words=run))
                run = []
            if w is not None:
                run.append(w)
    return out


def _respace(seg: dict, text: str) -> list[dict]:
    """Word timings for corrected text: spread over the segment by character length."""
    words = text.split()
    total = sum(len(w) for w in words) or 1
    t, span, out = seg["start"], seg["end"] - seg["start"], []
    for w in words:
        d = span * len(w) / total
        out.append({"word": w, "space": True, "start": round(t, 3), "end": round(t + d, 3), "probability": 1.0,
                    "speaker": seg.get("speaker")})
        t += d
    return out


def target_segment(segments: list[dict], c: TranscriptCorrection) -> int | None:
    """The segment a stored correction applies to: its index if the times still agree, else the best overlap."""
    def ov(i):
        return _overlap(segments[i]["start"], segments[i]["end"], c.start_s, c.end_s)

    span = max(c.end_s - c.start_s, 1e-3)
    if c.segment_index < len(segments) and ov(c.segment_index) >= 0.5 * span:
        return c.segment_index
    best = max(range(len(segments)), key=ov, default=None)
    return best if best is not None and ov(best) > 0 else None


def apply_corrections(segments: list[dict], corrections: list[TranscriptCorrection]) -> list[dict]:
    for c in corrections:
        i = target_segment(segments, c)
        if i is None:
            continue
        seg = segments[i]
        seg.update(text=c.text, corrected=True, words=_respace(seg, c.text), confidence=1.0)
        if c.speaker:
            seg["speaker"] = c.speaker
    return segments


def load(platform, s: Session, video_id: uuid.UUID, *, with_corrections: bool = True, track: str = "original") -> dict:
    """The merged transcript of a video; NotReady while the transcription stage has not finished.

    ``track="en-translation"``: Whisper's English translation instead (no corrections apply to it);
    TranslationUnavailable when the video has none (English speech, or an English-only model).
    """
    stored = Transcript.read(platform, s, video_id)
    if stored is None:
        raise NotReady("The transcript of this video is not ready yet.")
    base = stored.doc
    if track == TRANSLATION_TRACK:
        if not base.get("translation"):
            raise TranslationUnavailable("This video has no English translation: it is in English, or the "
                                         "deployment's speech model is English-only.")
        tr = base["translation"]
        base = {**{k: v for k, v in base.items() if k != "translation"}, "track": TRANSLATION_TRACK,
                "language": tr["language"], "source_languages": tr.get("source_languages", []),
                "segments": tr["segments"]}
        with_corrections = False
    else:
        base = {k: v for k, v in base.items() if k != "translation"}
        base["track"] = "original"
    found = Speakers.read(platform, s, video_id)
    spk = found.doc if found else None
    segments = assign_speakers(base["segments"], spk["turns"] if spk else [])
    if with_corrections:
        rows = s.scalars(select(TranscriptCorrection).where(TranscriptCorrection.video_id == video_id)
                         .order_by(TranscriptCorrection.updated_at)).all()
        segments = apply_corrections(segments, list(rows))
    names = speaker_names(s, spk)
    for i, seg in enumerate(segments):
        seg["index"] = i
        seg["words"] = wording.normalise(seg["words"])
        seg.setdefault("corrected", False)
        seg["speaker_name"] = names.get(seg.get("speaker"), {}).get("name")
        for w in seg["words"]:
            w.setdefault("speaker", seg.get("speaker"))
            w["speaker_name"] = names.get(w.get("speaker"), {}).get("name")
    return {**{k: v for k, v in base.items() if k != "segments"}, "speakers": spk["speakers"] if spk else [],
            "speaker_names": {k: v["name"] for k, v in names.items()}, "segments": segments}


def speaker_names(s: Session, spk: dict | None) -> dict[str, dict]:
    """The tenant's named voices among this video's speakers, matched against the profiles as they are now."""
    tenant_id = s.info.get("tenant_id")
    if not spk or not spk.get("centroids") or tenant_id is None:
        return {}
    return voices.match(spk["centroids"], voices.tenant_profiles(s, tenant_id))


def words_of(transcript: dict) -> list[dict]:
    """Every word with its speaker shown by name where the voice is named, else by label."""
    return [dict(w, speaker=w.get("speaker_name") or w.get("speaker") or seg.get("speaker_name") or seg.get("speaker"))
            for seg in transcript["segments"] for w in seg["words"]]


class ReaderTranscript(Input):
    """The transcript as a reader sees it (``load`` above), as a stage input: summaries and compliance
    work on the corrected words, with speakers. Read after ``transcribe``, so stages name it there."""

    stage = Transcript.stage

    def __init__(self, doc: dict) -> None:
        self.doc = doc

    @classmethod
    def load(cls, src: Source) -> "ReaderTranscript | None":
        try:
            return cls(load(src.platform, src.session, src.video_id))
        except NotReady:
            return None
