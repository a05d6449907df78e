"""What the visual pass's speed relies on: text is read once per change, faces embedded per track.

Not timed (performance lives in bench/ingest.py): these count the work. A slide held for 30 s beside
a moving picture is detected and recognised once; its words changing on the same layout are read
again; unchanged face samples are not detected again and a track embeds only its best crops.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from clipdex.analyzers import ocr
from clipdex.analyzers.faces import FaceTracker, face_models
from clipdex.analyzers.shots import feature
from clipdex.media.frames import probe_spec, read_frames
from tests.media import FFMPEG

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SLIDE_A = ("Quarterly budget review", "Revenue grew 12 percent")
SLIDE_B = ("Hiring plan for spring", "Revenue grew 12 percent")  # same second line, same place
HOLD_S, SECONDS = 30, 34


def _draw(lines: tuple[str, ...], start: float, end: float) -> str:
    return ",".join(f"drawtext=fontfile={FONT}:text='{line}':fontsize={30 if i == 0 else 24}:fontcolor=0x202020:"
                    f"x=40:y={50 + 60 * i}:enable='between(t,{start},{end})'" for i, line in enumerate(lines))


@pytest.fixture(scope="module")
def slide_video(tmp_path_factory) -> Path:
    """640x360, 5 fps: slide A for 30 s, then slide B; a moving fractal inset beside it the whole time."""
    path = tmp_path_factory.mktemp("reading") / "slides.mp4"
    fc = (f"[0:v]drawbox=x=20:y=20:w=420:h=320:color=0xF0F0EC@1:t=fill,{_draw(SLIDE_A, 0, HOLD_S - 0.01)},"
          f"{_draw(SLIDE_B, HOLD_S, SECONDS)}[bg];"
          "[1:v]scale=150:120[pip];[bg][pip]overlay=x='470+6*sin(t)':y='120+4*cos(t/2)':shortest=1,format=yuv420p[v]")
    subprocess.run([FFMPEG, "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"color=c=0x30507a:size=640x360:rate=5:d={SECONDS}",
                    "-f", "lavfi", "-i", "mandelbrot=size=300x240:rate=5:end_scale=0.05",
                    "-filter_complex", fc, "-map", "[v]", "-t", str(SECONDS), "-c:v", "libx264", "-preset", "ultrafast",
                    str(path)], check=True)
    return path


def _track_text(settings, path: Path, period: float = 1.0):
    """Feed a TextTracker one frame per ``period`` and log every crop the recogniser was given."""
    tracker, recognised = ocr.TextTracker(), []
    tracker._reader = ocr.LineReader()
    real = tracker._reader.recognise

    def logged(crops):
        out = real(crops)
        recognised.extend(text for text, _ in out)
        return out

    tracker._reader.recognise = logged
    spec, nxt, end = probe_spec(settings, path, 640), 0.0, 0.0
    for f in read_frames(settings, path, spec):
        end = f.t
        if f.t >= nxt:
            tracker.feed(f.t, f.image, feature(f.image), period)
            nxt = f.t + period
    return tracker, tracker.finish(end + 1 / spec.fps), recognised


@pytest.mark.slow
def test_a_slide_held_30s_is_read_once_and_its_change_is_read(visual_platform, slide_video):
    tracker, spans, recognised = _track_text(visual_platform.settings, slide_video)
    for line in SLIDE_A[:1] + SLIDE_B[:1]:
        assert [ocr._norm(r) for r in recognised].count(ocr._norm(line)) == 1, (line, recognised)
    # the unchanged second line keeps its span across the slide change, never recognised again
    assert [ocr._norm(r) for r in recognised].count(ocr._norm(SLIDE_A[1])) == 1, recognised
    by_text = {ocr._norm(s["text"]): s for s in spans}
    title_a, title_b, common = (by_text[ocr._norm(x)] for x in (SLIDE_A[0], SLIDE_B[0], SLIDE_A[1]))
    assert title_a["start_s"] == 0.0 and HOLD_S - 1.01 <= title_a["end_s"] <= HOLD_S + 0.01
    assert HOLD_S - 0.01 <= title_b["start_s"] <= HOLD_S + 1.01 and title_b["end_s"] >= SECONDS - 1.5
    assert common["start_s"] == 0.0 and common["end_s"] >= SECONDS - 1.5
    # the detector looked at the frame (or changed regions of it) on a few of the 34 samples only
    assert tracker.ocr_runs <= 4, (tracker.ocr_runs, tracker.gated_out, tracker.deduped)


def test_noise_is_not_text():
    for noise in ("_", "H", "日", "-=|", "'.", "| |"):
        assert not ocr.meaningful(noise, 0.99), noise
    for text in ("250", "Q3 budget", "Übersicht", "予算案", "R&D 2026"):
        assert ocr.meaningful(text, 0.95), text
    assert not ocr.meaningful("Quarterly budget", 0.6)


def test_reads_are_found_again_by_picture():
    img = np.full((60, 400, 3), 240, np.uint8)
    cv2.putText(img, "Quarterly budget", (10, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (30, 30, 30), 2)
    other = np.full((60, 400, 3), 240, np.uint8)
    cv2.putText(other, "Hiring in Berlin", (10, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (30, 30, 30), 2)
    noisy = np.clip(img.astype(np.int16) + np.random.default_rng(1).integers(-6, 7, img.shape), 0, 255).astype(np.uint8)
    cache = ocr.ReadCache()
    cache.add(ocr.signature(img), "Quarterly budget", 0.99)
    assert cache.find(ocr.signature(noisy)) == ("Quarterly budget", 0.99)  # compression noise: the same line
    assert cache.find(ocr.signature(other)) is None


def _face_frame(dx: int) -> np.ndarray:
    canvas = np.full((360, 640, 3), 90, np.uint8)
    face = cv2.resize(skimage.data.astronaut()[..., ::-1], (300, 300))
    canvas[30:330, 100 + dx:400 + dx] = face
    return canvas


def test_faces_skip_unchanged_samples_and_embed_only_the_best_crops():
    fm, tracker = face_models(), FaceTracker(best_crops=3)
    moving = [_face_frame(dx) for dx in range(0, 80, 8)]  # ten samples, the face moving right
    for i, img in enumerate(moving):
        tracker.feed(i * 0.5, img, False, fm, feature(img))
    for i in range(6):  # three seconds of the same picture
        tracker.feed(5.0 + i * 0.5, moving[-1], False, fm, feature(moving[-1]))
    tracks = tracker.finish()
    assert tracker.detected_frames == 10 and tracker.skipped_frames == 6
    assert len(tracks) == 1 and tracks[0].start_s == 0.0 and tracks[0].end_s == 7.5
    assert len(tracks[0].samples) == 16
    assert tracker.embedded == 3 and len(tracks[0].embeddings) == 3  # not one per detection
    direct = fm.embed(moving[0], fm.detect(moving[0])[0])
    assert float(direct @ tracks[0].embedding) > 0.8
