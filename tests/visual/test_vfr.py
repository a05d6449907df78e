"""Variable frame rate: frame times are the stream's presentation times, not index / average fps."""

from __future__ import annotations

import json

import pytest

from clipdex.analyzers.shots import ShotDetector, feature
from clipdex.analyzers.visual import VisualOptions, VisualPass
from clipdex.evaluation.visual import eval_shots
from clipdex.media.frames import probe_spec, read_frames
from tests.visual import media


@pytest.fixture(scope="module")
def vfr_video(tmp_path_factory):
    return media.make_vfr_video(tmp_path_factory.mktemp("vfr") / "vfr.mp4")


def test_frame_times_and_cut_time_on_vfr(visual_platform, vfr_video):
    st = visual_platform.settings
    spec = probe_spec(st, vfr_video, 160)
    frames = list(read_frames(st, vfr_video, spec))
    times = [f.t for f in frames]
    assert times[0] == 0.0 and all(b > a for a, b in zip(times, times[1:]))
    assert abs(times[10] - 1.0) < 0.01 and abs(times[20] - media.VFR_CUT_S) < 0.01
    assert abs(times[21] - times[20] - 1 / 30) < 0.005  # the 30 fps part
    assert abs(20 / spec.fps - media.VFR_CUT_S) > 0.5  # index / average rate would be far off

    det = ShotDetector(spec.fps)
    for f in frames:
        det.feed(feature(f.image), f.t)
    cuts = [det.time_at(b.frame) for b in det.boundaries()]
    assert len(cuts) == 1 and abs(cuts[0] - media.VFR_CUT_S) <= 0.05, cuts

    vp = VisualPass(spec, VisualOptions(faces=False, ocr=False, tags=False), 3.5)
    for f in frames:
        vp.feed(f.index, f.t, f.image)
    shots = vp.finish()["shots"]
    assert len(shots) == 2 and abs(shots[1].start_s - media.VFR_CUT_S) <= 0.05
    assert abs(shots[1].end_s - 3.5) <= 0.05 and shots[0].end_s == shots[1].start_s


def test_eval_matches_vfr_sidecars_by_time(visual_platform, vfr_video, tmp_path):
    (tmp_path / "v.mp4").write_bytes(vfr_video.read_bytes())
    (tmp_path / "v.shots.json").write_text(json.dumps({"variable_frame_rate": True}))
    entry = {"file": "v.mp4", "kind": "shot_boundary", "ground_truth_file": "v.shots.json",
             "ground_truth": {"hard_cuts": [20], "hard_cut_times_s": [media.VFR_CUT_S]}}
    times_only = {"file": "v.mp4", "kind": "shot_boundary", "ground_truth": {"hard_cut_times_s": [1.0]}}
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"entries": [entry, times_only]}))
    r = eval_shots(tmp_path, visual_platform.settings)
    f = r["files"][0]
    assert f["matched_by"] == "time_0.05s" and abs(f["predicted_s"][0] - media.VFR_CUT_S) <= 0.05
    # cuts given only in seconds are matched by time too: 1.0 s (frame 10) is not the 2.0 s cut
    assert r["files"][1]["matched_by"] == "time_0.05s" and r["files"][1]["tp_cuts"] == 0
    assert r["tp_cuts"] == 1 and r["false_positives"] == 1 and r["n_cuts"] == 2, r


def test_clock_stops_waiting_when_no_times_come():
    import io
    import time

    from clipdex.media.frames import _Clock

    clock = _Clock(io.BytesIO(b"[Parsed_showinfo_0 @ 0x1] [info] n:   0 pts:    512 pts_time:0.04 pos: 1\n"
                              b"[h264 @ 0x2] [error] something odd\n"))
    clock.run()
    assert clock.time_of(0) == 0.04 and clock.time_of(1) is None and b"something odd" in clock.tail
    silent = _Clock(io.BytesIO(b""))  # never run: no line ever arrives
    t0 = time.monotonic()
    assert silent.time_of(0, wait_s=0.05) is None and silent.broken
    assert silent.time_of(1, wait_s=5) is None and time.monotonic() - t0 < 1  # no second wait
