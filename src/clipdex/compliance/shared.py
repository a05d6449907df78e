"""Compliance's picture pass fed by the visual stage's decode (invariant 3: decode once).

The visual stage, which decodes every frame anyway, asks ``shared_picture`` for a ``PicturePass``
with the options the compliance stage would use, feeds it each frame it decodes, and stores what
``picture_outputs`` returns: a ``PictureMeasurements`` document and the blurred evidence thumbnails.
The compliance stage takes them (``reusable``) instead of decoding the video again when the visual
stage ran in the same job with the same options and frame size; otherwise it decodes as before.

    pp = shared_picture(ctx.settings, spec)          # None: compliance does not run, feed nothing
    for f in read_frames(...):
        if pp is not None:
            pp.feed(f.t, f.image)
    ...
    artifacts += picture_outputs(pp, spec, ctx.job_id) if pp is not None else []
"""

from __future__ import annotations

import uuid
from dataclasses import asdict

from clipdex.compliance.picture import MEASURES_VERSION, PictureOptions, PicturePass
from clipdex.media.frames import FrameSpec, analysis_size
from clipdex.pipeline.artifacts import BlobOut, PictureMeasurements

STAGE = "compliance"
EVIDENCE_META = {"kind": "evidence", "blurred": True}


def picture_options(settings) -> PictureOptions:
    """The options the compliance stage measures with (one place, so both decoders agree)."""
    return PictureOptions(nudity=settings.compliance_nudity, nudity_period_s=settings.compliance_nudity_period_s,
                          width=settings.compliance_width)


def options_doc(opts: PictureOptions) -> dict:
    """What must be equal for measurements to be reused: the options and the measures' code version."""
    return asdict(opts) | {"measures": MEASURES_VERSION}


def will_run(settings) -> bool:
    """Whether jobs planned with ``settings`` include the compliance stage."""
    from clipdex.pipeline import registry

    return STAGE not in settings.disabled_stages and STAGE in registry.all_stages()


def shared_picture(settings, spec: FrameSpec) -> PicturePass | None:
    """A picture pass for the visual stage to feed with every frame of ``spec``; None when no compliance
    stage will use it."""
    if not will_run(settings):
        return None
    return PicturePass(spec.fps, picture_options(settings))


def picture_document(pp: PicturePass, spec: FrameSpec) -> dict:
    """``Measurements["picture"]`` as the compliance stage stores it: ``finish()`` plus the nudity period
    and the size the frames were measured at."""
    out = pp.finish()
    out["nudity_period_s"] = pp.opts.nudity_period_s
    out["size"] = list(pp.size or (analysis_size(spec.width, spec.height, pp.opts.width)
                                   if spec.width > pp.opts.width else (spec.width, spec.height)))
    return out


def picture_outputs(pp: PicturePass, spec: FrameSpec, job_id: uuid.UUID | str) -> list:
    """The artifacts the visual stage stores for compliance: the document and one blob per thumbnail.

    ``job_id`` pins the document to the job whose visual stage measured it: a later job whose visual
    stage made none (older code on a worker, compliance switched off then) never reuses a stale one."""
    doc = {"version": 1, "job_id": str(job_id), "options": options_doc(pp.opts),
           "picture": picture_document(pp, spec), "evidence": sorted(pp.evidence),
           "timings_s": {k: round(v, 3) for k, v in pp.timings.items()}}
    return [PictureMeasurements(doc, meta={"version": 1, "frames": doc["picture"]["frames"]})] + [
        BlobOut(name, data, "image/jpeg", dict(EVIDENCE_META)) for name, data in sorted(pp.evidence.items())]


def reusable(found: PictureMeasurements | None, job_id: uuid.UUID, opts: PictureOptions,
             size: tuple[int, int]) -> bool:
    """Whether ``found`` was measured in this job, with these options, at the size compliance would
    decode (``size``), with every evidence thumbnail it names still stored."""
    if found is None:
        return False
    doc = found.doc
    return (doc.get("version") == 1 and doc.get("job_id") == str(job_id) and doc.get("options") == options_doc(opts)
            and isinstance(doc.get("picture"), dict) and doc["picture"].get("size") == list(size)
            and set(doc.get("evidence") or ()) <= set(found.evidence_keys))


def evidence_copies(platform, found: PictureMeasurements) -> list[BlobOut]:
    """The visual stage's evidence thumbnails as the compliance stage's own artifacts (same names), so
    reports find them where they always have."""
    out = []
    for name in found.doc.get("evidence") or ():
        with platform.blobs.open(found.evidence_keys[name]) as f:
            out.append(BlobOut(name, f.read(), "image/jpeg", dict(EVIDENCE_META)))
    return out
