"""Sandboxed ffprobe classifies bad media with stable codes and checks tier limits."""

from __future__ import annotations

import pytest

from clipdex.errors import MediaRejected
from clipdex.media.probe import check_media, probe_file
from clipdex.settings import DEFAULT_TIERS, Settings
from tests.media import absurd_dimensions, make_audio, make_video, oversized_dimensions, truncated_copy

SETTINGS = Settings(data_dir="/tmp/clipdex-unit", secret_key="x" * 40)
FREE = DEFAULT_TIERS["free"]


def _code(path, tier=FREE) -> str | None:
    try:
        check_media(probe_file(path, SETTINGS), tier)
    except MediaRejected as e:
        return e.code
    return None


def test_good_video_and_audio_only_are_accepted(tmp_path):
    info = probe_file(make_video(tmp_path / "ok.mp4", seconds=2), SETTINGS)
    assert info.video.width == 320 and info.audio is not None and abs(info.duration_s - 2) < 0.1
    assert _code(make_audio(tmp_path / "a.wav")) is None


@pytest.mark.parametrize("kind, code", [
    ("empty", "media.empty"), ("text", "media.unrecognized"), ("truncated", "media.truncated"),
    ("absurd", "media.invalid_dimensions"), ("wide", "media.resolution_exceeded"),
])
def test_bad_inputs_get_their_own_code(tmp_path, kind, code):
    path = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("Quarterly report\nThis is not a video.\n" * 20)
    elif kind == "truncated":
        truncated_copy(make_video(tmp_path / "full.mp4", seconds=3), path, 0.5)
    elif kind == "absurd":
        path = absurd_dimensions(tmp_path / "absurd.y4m")
    elif kind == "wide":
        path = oversized_dimensions(tmp_path / "wide.y4m")
    assert _code(path) == code


def test_duration_limit_is_per_tier(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", seconds=3, audio=False)
    short_tier = FREE.model_copy(update={"max_duration_s": 1.0})
    assert _code(clip, short_tier) == "media.duration_exceeded"
    assert _code(clip) is None


def test_probe_is_bounded_in_time(tmp_path):
    from clipdex.media.runner import Limits, ToolTimeout, run_tool

    with pytest.raises(ToolTimeout):
        run_tool(["sleep", "5"], Limits(timeout_s=0.3, memory_bytes=256 * 1024**2))


def test_mpeg1_program_stream_with_vbv_max_bitrate_is_not_truncated(tmp_path):
    """MPEG-1 declares 104857200 b/s ("variable") per video stream: not a size the file must reach."""
    import subprocess

    from clipdex.media.probe import probe_file
    from clipdex.settings import Settings

    clip = tmp_path / "clip.mpg"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=352x288:rate=25:duration=3",
                    "-f", "lavfi", "-i", "sine=duration=3", "-c:v", "mpeg1video", "-c:a", "mp2", "-f", "mpeg",
                    str(clip)], check=True)
    info = probe_file(clip, Settings(data_dir=tmp_path / "d"))
    assert info.duration_s > 2.5
