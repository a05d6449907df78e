"""16 kHz mono audio as numpy arrays, and where to cut long audio without splitting words."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

SR = 16000


def read_wav(path: Path | str) -> np.ndarray:
    """float32 samples of a 16-bit PCM WAV (what stage extract_audio writes)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError("expected 16-bit PCM")
        frames = w.readframes(w.getnframes())
        channels, rate = w.getnchannels(), w.getframerate()
    x = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    if rate != SR:
        raise ValueError(f"expected {SR} Hz audio, got {rate}")
    return x


def load_any(path: Path | str) -> np.ndarray:
    """Any media file as 16 kHz mono float32 (FFmpeg via faster-whisper's decoder)."""
    from faster_whisper.audio import decode_audio

    return decode_audio(str(path), sampling_rate=SR)


def chunk_bounds(x: np.ndarray, chunk_s: float, search_s: float = 5.0) -> list[tuple[int, int]]:
    """Sample ranges of about ``chunk_s`` each, cut in the middle of the quietest half second near each
    target point (the nearest such pause when several are equally quiet).

    The quietest single 100 ms was often the short pause between two words (digital silence in
    synthetic speech, the noise floor in real speech), so a chunk could end mid-sentence and the two
    halves were decoded without each other's context: measured, "the first chapter explains" came
    out as "the first step". A half-second window only fits in a pause between sentences.
    Deterministic for the same audio and chunk length, so a resumed run finds the same chunks.
    """
    n, step, win, span = len(x), int(chunk_s * SR), SR // 10, 5
    bounds, start = [], 0
    while n - start > step + int(search_s * SR):
        target = start + step
        lo, hi = max(start + win, target - int(search_s * SR)), min(n - win, target + int(search_s * SR))
        seg = x[lo:hi]
        usable = len(seg) // win * win
        if usable >= win * span:
            energy = (seg[:usable].reshape(-1, win).astype(np.float64) ** 2).mean(axis=1)
            smooth = np.convolve(energy, np.ones(span) / span, mode="valid")  # mean over 500 ms
            quiet = np.flatnonzero(smooth <= smooth.min() * (1 + 1e-6) + 1e-12)
            centre = (target - lo) / win - span / 2
            best = int(quiet[np.argmin(np.abs(quiet - centre))])
            cut = lo + best * win + span * win // 2
        elif usable >= win:
            energy = (seg[:usable].reshape(-1, win) ** 2).mean(axis=1)
            cut = lo + int(np.argmin(energy)) * win + win // 2
        else:
            cut = target
        bounds.append((start, cut))
        start = cut
    bounds.append((start, n))
    return bounds


def stage_audio(ctx) -> np.ndarray:
    """The 16 kHz mono audio that stage ``extract_audio`` stored, for a stage that declares ``Audio``."""
    from clipdex.pipeline.artifacts import Audio

    audio = ctx.input(Audio)
    if audio is None:
        raise RuntimeError("the extracted audio of this video is missing")
    with audio.local_path(ctx.platform) as p:
        return read_wav(p)
