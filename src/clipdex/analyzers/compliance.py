"""Stage ``compliance``: measure once what every compliance policy judges -> measurements.json.

Measured here: loudness of the original's audio track (FFmpeg ebur128, true peak at the source
rate), per-frame picture numbers at ``compliance_width`` (flash transitions, black share,
frame-to-frame change, bars, nudity scores on samples). The picture numbers are taken from the
visual stage when it measured them on its own decode in this job with the same options
(compliance/shared.py); only otherwise does this stage decode the video itself. Copied in from the stages
that already ran, so a report never needs them again: the transcript's words and segments (with
human corrections), on-screen text spans, sound events. Nothing here depends on a policy; the
stage ends by judging the measurements against the tenant's default policy, so the job's events
carry a verdict and the video can be listed by it.
"""

from __future__ import annotations

import time
from pathlib import Path

from clipdex.compliance import loudness
from clipdex.compliance.evaluate import evaluate
from clipdex.compliance import shared
from clipdex.compliance.picture import PicturePass
from clipdex.db.types import utcnow
from clipdex.media.formats import pinned_for
from clipdex.media.frames import frame_spec, read_frames
from clipdex.pipeline.artifacts import (BlobOut, Input, Measurements, OnScreenText, PictureMeasurements, SoundEvents,
                                        Source)
from clipdex.pipeline.stage import Commit, StageResult
from clipdex.speech.transcript import ReaderTranscript

VERSION = "1"


def video_facts(media: dict, probe: dict) -> dict:
    streams = media.get("streams") or []
    v = next((s for s in streams if s.get("kind") == "video"), {})
    a = next((s for s in streams if s.get("kind") == "audio"), {})
    return {"duration_s": probe.get("duration_s") or media.get("duration_s"), "width": v.get("width"),
            "height": v.get("height"), "fps": v.get("fps"), "video_codec": v.get("codec"),
            "audio_codec": a.get("codec"), "audio_channels": a.get("channels"), "audio_rate": a.get("sample_rate"),
            "format": media.get("format_name"), "has_video": bool(probe.get("has_video")),
            "has_audio": bool(probe.get("has_audio"))}


def picture_pass(ctx, src: Path, fmt: str, duration: float) -> tuple[PicturePass, dict]:
    st = ctx.settings
    spec = frame_spec(ctx.video.media, st.compliance_width)
    pp = PicturePass(spec.fps, shared.picture_options(st))
    for f in read_frames(st, src, spec, fmt=fmt):
        pp.feed(f.t, f.image)
        if f.index % 250 == 0:
            ctx.check_alive()
            if duration:
                ctx.progress(0.2 + 0.7 * min(1.0, f.t / duration))
    return pp, shared.picture_document(pp, spec)


def shared_measurements(ctx) -> PictureMeasurements | None:
    """The visual stage's picture measurements of this job, when they are what this stage would measure."""
    if not ctx.ran("visual"):
        return None
    found = ctx.input(PictureMeasurements)
    size = frame_spec(ctx.video.media, ctx.settings.compliance_width)
    opts = shared.picture_options(ctx.settings)
    return found if shared.reusable(found, ctx.job_id, opts, (size.width, size.height)) else None


def measure_picture(ctx, src: Path, fmt: str, duration: float, timings: dict) -> tuple[dict, list[BlobOut], bool]:
    """The picture numbers, their evidence thumbnails, and whether they are the visual stage's (else they
    come from a decode here)."""
    found = shared_measurements(ctx)
    t0 = time.perf_counter()
    if found is not None:
        picture, evidence = found.doc["picture"], shared.evidence_copies(ctx.platform, found)
        spent = found.doc.get("timings_s") or {}
    else:
        pp, picture = picture_pass(ctx, src, fmt, duration)
        evidence = [BlobOut(name, data, "image/jpeg", dict(shared.EVIDENCE_META)) for name, data in pp.evidence.items()]
        spent = pp.timings
    timings["picture"] = time.perf_counter() - t0
    timings.update({f"picture.{k}": v for k, v in spent.items()})
    return picture, evidence, found is not None


class DefaultPolicy(Input):
    """The tenant's default compliance policy (or the deployment's preset), as the stage starts."""

    def __init__(self, policy: dict) -> None:
        self.policy = policy

    @classmethod
    def load(cls, src: Source) -> "DefaultPolicy":
        from clipdex.compliance import service

        return cls(service.resolve(src.session, src.tenant_id, None, None,
                                   src.platform.settings.compliance_default_policy))


def copied_inputs(ctx) -> dict:
    """Words, segments, on-screen text and sound events from the stages that ran (None: not run)."""
    upstream, out = ctx.upstream, {}
    words = segments = None
    doc = ctx.input(ReaderTranscript).doc if ctx.ran("transcribe") and ctx.input(ReaderTranscript) else None
    if doc is not None:
        segments = [[seg["start"], seg["end"]] for seg in doc["segments"]]
        words = [{"w": w["word"], "s": w["start"], "e": w["end"]} for seg in doc["segments"] for w in seg["words"]]
        out["transcript_language"] = doc.get("language")
    out["words"], out["segments"] = words, segments
    text = ctx.input(OnScreenText) if "visual" in upstream else None
    out["screen_text"] = ([{"text": sp["text"], "start_s": sp["start_s"], "end_s": sp["end_s"]}
                           for sp in text.doc.get("spans", [])] if text is not None else None)
    ev = ctx.input(SoundEvents) if "sound_events" in upstream else None
    out["sound_events"] = ev.doc.get("events", []) if ev is not None else None
    return out


class ComplianceStage:
    name, version = "compliance", VERSION
    requires = ("probe",)
    # reuses what these produced when they are planned (words, on-screen text, sound events)
    after = ("transcribe", "diarize", "visual", "sound_events")
    inputs = (ReaderTranscript, OnScreenText, SoundEvents, PictureMeasurements, DefaultPolicy)
    outputs = (Measurements, "evidence-*.jpg")
    queue = "cpu"

    def run(self, ctx):
        probe = ctx.upstream.get("probe", {})
        facts = video_facts(ctx.video.media, probe)
        duration = float(facts["duration_s"] or ctx.video.duration_s or 0.0)
        fmt = pinned_for(ctx.video.media)
        m: dict = {"version": 1, "stage_version": VERSION, "video": facts, "loudness": None, "picture": None}
        timings: dict[str, float] = {}
        with ctx.source_path() as src, ctx.scratch_dir() as tmp:
            if facts["has_audio"]:
                t0 = time.perf_counter()
                m["loudness"] = loudness.measure(ctx.settings, src, fmt, Path(tmp))
                timings["loudness"] = time.perf_counter() - t0
                ctx.progress(0.2)
            ctx.check_alive()
            evidence: list[BlobOut] = []
            shared_picture = False
            if facts["has_video"]:
                m["picture"], evidence, shared_picture = measure_picture(ctx, src, fmt, duration, timings)
            ctx.check_alive()
            m.update(copied_inputs(ctx))
            m["measured_at"] = utcnow().isoformat()
            m["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
        policy = ctx.input(DefaultPolicy).policy
        report = evaluate(m, policy)
        return StageResult(
            output={"timings_s": m["timings_s"], "verdict": report["verdict"], "policy": policy["name"],
                    "policy_version": policy.get("version"), "violations": report["counts"]["violation"],
                    "warnings": report["counts"]["warning"],
                    "picture_shared": shared_picture},
            artifacts=[Measurements(m, meta={"version": 1}), *evidence],
            rows=[store_verdict(report)])


def store_verdict(report: dict):
    """The verdict against the tenant's default policy, stored for listing (in the stage's commit)."""
    def write(c: Commit) -> None:
        from clipdex.compliance import service

        service.store_result(c.session, c.tenant_id, c.video_id, report)

    return write


STAGE = ComplianceStage()
