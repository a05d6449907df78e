"""The measurements and checks on generated media that breaks each rule by a known amount (no database)."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from clipdex.compliance import loudness
from clipdex.compliance.checks import CHECKS
from clipdex.compliance.evaluate import evaluate
from clipdex.compliance.flashes import FlashDetector, violating_spans
from clipdex.compliance.picture import PictureOptions, PicturePass
from clipdex.compliance.policies import preset
from clipdex.media.frames import probe_spec, read_frames
from clipdex.settings import Settings
from tests.compliance import media
from tests.media import FFMPEG


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    st = Settings(data_dir=tmp_path_factory.mktemp("cdata"), env="test", secret_key="t" * 40)
    st.staging_dir.mkdir(parents=True, exist_ok=True)
    return st


def ffmpeg_ebur128(path) -> tuple[float, float]:
    """FFmpeg's own integrated loudness and true peak of ``path``, run directly (the reference)."""
    err = subprocess.run([FFMPEG, "-nostats", "-hide_banner", "-i", str(path), "-map", "0:a:0", "-af",
                          "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True).stderr
    i = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", err)[-1])
    tp = float(re.findall(r"True peak:\s+Peak:\s+(-?[\d.]+) dBFS", err)[-1])
    return i, tp


def picture(settings, path, nudity=False) -> dict:
    spec = probe_spec(settings, path, 320)
    pp = PicturePass(spec.fps, PictureOptions(nudity=nudity))
    for f in read_frames(settings, path, spec, fmt="mov"):
        pp.feed(f.t, f.image)
    return pp.finish() | {"nudity_period_s": 2.0}


@pytest.mark.parametrize("lufs", [-10.0, -23.0])
def test_integrated_loudness_matches_ffmpeg_and_the_known_level(settings, tmp_path, lufs, loud_video, r128_video):
    path = loud_video if lufs == -10.0 else r128_video
    m = loudness.measure(settings, path, "mov", tmp_path)
    ref_i, ref_tp = ffmpeg_ebur128(path)
    assert abs(m["integrated_lufs"] - ref_i) <= 0.1, (m["integrated_lufs"], ref_i)
    assert abs(m["true_peak_dbtp"] - ref_tp) <= 0.1
    assert abs(m["integrated_lufs"] - lufs) <= 0.3, m["integrated_lufs"]
    # true peak of a sine is its peak level (+ a little AAC overshoot), measured at 48 kHz, not 16 kHz
    assert lufs + 3.01 - 0.2 <= m["true_peak_dbtp"] <= lufs + 3.01 + 1.0
    s = m["series"]
    assert len(s["t"]) == len(s["momentary"]) == len(s["short_term"]) and 25 <= len(s["t"]) <= 32
    assert abs(s["momentary"][len(s["t"]) // 2] - lufs) < 1.0


def test_loudness_verdicts_and_gain(settings, tmp_path, loud_video, r128_video):
    eu = preset("broadcast-eu")
    loud = {"loudness": loudness.measure(settings, loud_video, "mov", tmp_path), "video": {"duration_s": 3.0}}
    quiet = {"loudness": loudness.measure(settings, r128_video, "mov", tmp_path), "video": {"duration_s": 3.0}}
    out = CHECKS["loudness"].evaluate(loud, eu["rules"]["loudness"])
    assert [f.severity for f in out.findings] == ["violation"]  # the level (its true peak, -6.4 dBTP, is fine)
    assert -13.3 <= out.measured["gain_db"] <= -12.7
    assert "-13" in out.findings[0].suggestion
    assert CHECKS["loudness"].evaluate(quiet, eu["rules"]["loudness"]).findings == []
    # the same measurement against another policy: -23 LUFS is 9 LU under the streaming target
    stream = CHECKS["loudness"].evaluate(quiet, preset("streaming")["rules"]["loudness"])
    assert len(stream.findings) == 1 and 8.7 <= stream.measured["gain_db"] <= 9.3


def test_five_hertz_flashing_fails_with_its_span_and_one_hertz_passes(settings, flash5_video, flash1_video):
    rule = preset("broadcast-eu")["rules"]["flashes"]
    fast = CHECKS["flashes"].evaluate({"picture": picture(settings, flash5_video)}, rule)
    assert len(fast.findings) == 1, fast.findings
    f = fast.findings[0]
    assert f.severity == "violation" and abs(f.start_s - 1.0) <= 0.1 and abs(f.end_s - 3.0) <= 0.2, f
    assert f.evidence["peak_transitions_per_s"] >= 9  # 5 flashes = 10 transitions a second
    slow = CHECKS["flashes"].evaluate({"picture": picture(settings, flash1_video)}, rule)
    assert slow.findings == [] and slow.measured["general"] == 4  # two 1 Hz flashes, all counted


def test_saturated_red_flashes_count_separately():
    det = FlashDetector()
    red = np.zeros((45, 80, 3), np.uint8)
    red[..., 2] = 255
    dark = np.zeros_like(red)
    dark[..., 2] = 200  # a less bright red: luminance changes by 0.09 (< 0.1), the red value by 135 (> 20)
    for i in range(50):
        det.feed(i / 25, red if (i // 3) % 2 == 0 else dark)
    res = det.result()
    assert len(res["red"]) >= 15 and violating_spans([t for t, _ in res["red"]], 6)
    assert res["general"] == []  # not a general flash: only the red rule catches it


def test_black_gap_frozen_stretch_and_silence(settings, tmp_path, qc_video):
    m = {"picture": picture(settings, qc_video, nudity=True),
         "loudness": loudness.measure(settings, qc_video, "mov", tmp_path),
         "video": {"duration_s": 10.0, "has_audio": True, "has_video": True}}
    rep = evaluate(m, preset("broadcast-eu"))
    by = {c: [f for f in rep["findings"] if f["check"] == c]
          for c in ("black", "freeze", "silence", "flashes", "nudity")}
    (black,), (frozen,), (silent,) = by["black"], by["freeze"], by["silence"]
    assert abs(black["start_s"] - media.BLACK[0]) <= 0.1 and abs(black["end_s"] - media.BLACK[1]) <= 0.1
    assert abs(frozen["start_s"] - media.FROZEN[0]) <= 0.1 and abs(frozen["end_s"] - media.FROZEN[1]) <= 0.1
    assert abs(silent["start_s"] - media.SILENT[0]) <= 0.3 and abs(silent["end_s"] - media.SILENT[1]) <= 0.3
    assert by["flashes"] == [] and by["nudity"] == []  # a cut to black is one transition, not flashing
    assert len(m["picture"]["nudity"]) == 5  # a sample every 2 s
    assert rep["verdict"] == "warn"  # black, freeze and silence are warnings in broadcast-eu
    # stricter minimum durations are the policy's: a 4 s minimum finds no black gap in the same numbers
    strict = preset("broadcast-eu")
    strict["rules"]["black"]["min_s"] = 4.0
    assert not [f for f in evaluate(m, strict)["findings"] if f["check"] == "black"]
