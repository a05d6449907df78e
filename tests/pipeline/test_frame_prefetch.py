"""The decode runs ahead of the analyzers (a reader thread, bounded): same frames, same times, no
thread or FFmpeg process left behind when the consumer stops early."""

from __future__ import annotations

import threading
import time

import numpy as np

from clipdex.media import frames
from clipdex.media.frames import probe_spec, read_frames
from clipdex.settings import Settings
from tests.media import make_video


def _read(settings, src, spec):
    return [(f.index, f.t, int(f.image.sum())) for f in read_frames(settings, src, spec)]


def test_prefetched_frames_equal_frame_by_frame_reads(tmp_path, monkeypatch):
    src = make_video(tmp_path / "v.mp4", seconds=4, size="320x180", audio=False)
    st = Settings(data_dir=tmp_path / "d")
    spec = probe_spec(st, src, 320)
    deep = _read(st, src, spec)
    monkeypatch.setattr(frames, "PREFETCH_BYTES", 1)  # depth 2: the smallest queue
    shallow = _read(st, src, spec)
    assert len(deep) == 100 and deep == shallow


def test_a_slow_consumer_gets_every_frame_and_memory_stays_bounded(tmp_path, monkeypatch):
    src = make_video(tmp_path / "v.mp4", seconds=2, size="320x180", audio=False)
    st = Settings(data_dir=tmp_path / "d")
    spec = probe_spec(st, src, 320)
    monkeypatch.setattr(frames, "PREFETCH_BYTES", spec.width * spec.height * 3 * 4)  # 4 frames ahead
    seen, sizes = [], []
    orig = frames._Prefetch.__init__

    def spy(self, stream, size, depth):
        orig(self, stream, size, depth)
        sizes.append(depth)

    monkeypatch.setattr(frames._Prefetch, "__init__", spy)
    for f in read_frames(st, src, spec):
        time.sleep(0.005)
        seen.append(f.index)
    assert sizes == [4] and seen == list(range(50))


def test_stopping_early_ends_the_reader_and_the_decoder(tmp_path):
    src = make_video(tmp_path / "v.mp4", seconds=20, size="640x360", audio=False)
    st = Settings(data_dir=tmp_path / "d")
    spec = probe_spec(st, src, 640)
    gen = read_frames(st, src, spec)
    first = [next(gen) for _ in range(3)]
    assert [f.index for f in first] == [0, 1, 2] and isinstance(first[0].image, np.ndarray)
    gen.close()
    deadline = time.monotonic() + 10
    while any(t.name == "frame-reader" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "frame-reader" for t in threading.enumerate())
