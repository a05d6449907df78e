"""Stage ``thumbnail``: a poster frame and a small thumbnail for lists.

When the ``visual`` stage is planned, this stage waits for it and derives both images from the
poster the visual pass picked (the sharpest keyframe of the longer shots): no second decode of the
video. Without visual analysis (switched off, or it found no keyframe) FFmpeg grabs a still frame."""

from __future__ import annotations

from pathlib import Path

from clipdex.media.formats import pinned_for
from clipdex.media.transcode import still_frame
from clipdex.pipeline.artifacts import Poster
from clipdex.pipeline.stage import StageResult

SIZES = {"poster.jpg": 640, "thumb.jpg": 320}


def _from_visual(ctx, tmp: Path, jpeg: bytes) -> bool:
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return False
    for name, width in SIZES.items():
        h, w = img.shape[:2]
        out = img if w <= width else cv2.resize(img, (width, max(2, round(h * width / w))),
                                                interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            return False
        (tmp / name).write_bytes(buf.tobytes())
    return True


class ThumbnailStage:
    name, version = "thumbnail", "1"
    requires = ("probe",)
    after = ("visual",)  # when planned, the poster comes from the visual pass (no decode here)
    inputs = (Poster,)
    outputs = tuple(SIZES)
    queue = "cpu"

    def run(self, ctx):
        probe = ctx.upstream.get("probe", {})
        if not probe.get("has_video"):
            return StageResult.skipped("no video stream")
        poster = ctx.input(Poster) if ctx.ran("visual") else None  # this job's poster, not a stale one
        if poster is not None:
            with poster.open(ctx.platform) as f:
                jpeg = f.read()
            at = poster.meta.get("t")
            with ctx.scratch_dir() as tmp:
                if _from_visual(ctx, Path(tmp), jpeg):
                    for name, width in SIZES.items():
                        ctx.write_artifact(name, Path(tmp) / name, "image/jpeg", at_s=at, width=width,
                                           source="visual")
                    return {"at_s": at, "source": "visual"}
        duration = probe.get("duration_s") or 0.0
        at = min(duration * 0.1, 10.0)  # early, but past black leaders and fade-ins
        with ctx.source_path() as src, ctx.scratch_dir() as tmp:
            for i, (name, width) in enumerate(SIZES.items()):
                out = Path(tmp) / name
                still_frame(ctx.settings, src, out, fmt=pinned_for(ctx.video.media), at_s=at, width=width)
                ctx.write_artifact(name, out, "image/jpeg", at_s=at, width=width)
                ctx.progress((i + 1) / len(SIZES))
        return {"at_s": at}


STAGE = ThumbnailStage()
