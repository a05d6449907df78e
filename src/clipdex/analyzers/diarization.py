"""Stage ``diarize``: who spoke when, from voice activity + resemblyzer embeddings + clustering.

Speech regions come from the Silero VAD inside faster-whisper; each region is cut into pieces of
about two seconds, each piece gets a d-vector (resemblyzer's GE2E encoder), and average-linkage
agglomerative clustering on cosine distance with a threshold estimates the number of speakers.
Speakers are labelled ``S1``, ``S2``... in order of first appearance. Output: ``speakers.json``,
with each speaker's unit d-vector centroid (kept so a tenant can name the voice) and the tenant's
named voices it matched (``names``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clipdex.analyzers.runtime import models
from clipdex.pipeline.artifacts import Audio, Input, Source, Speakers
from clipdex.pipeline.stage import StageResult
from clipdex.speech.audio import SR, stage_audio
from clipdex.speech.speakers import match, tenant_profiles, unit

PIECE_S, MIN_PIECE_S = 2.0, 0.5


@dataclass(frozen=True)
class DiarizationOptions:
    threshold: float = 0.35  # cosine distance above which two voices are different speakers
    min_speaker_share: float = 0.04  # clusters with less speech than this are merged into the nearest
    # Telephone audio (8 kHz, 300-3400 Hz) squeezes every voice's d-vectors together, so a man and a
    # woman on a call fall under the distance threshold. When the threshold finds one voice, a
    # k-means split whose silhouette reaches this is taken instead: measured on espeak-ng dialogues,
    # distinct voices score 0.51-0.61 at 8 and 16 kHz; single-speaker corpus talks at most 0.34.
    split_silhouette: float = 0.42
    split_min_pieces: int = 6  # fewer pieces than this: too few to tell structure from noise


def encoder():
    def load():
        from resemblyzer import VoiceEncoder

        from clipdex.analyzers.runtime import torch_ready

        torch_ready()
        return VoiceEncoder("cpu", verbose=False)

    return models.get(("resemblyzer", "cpu"), load)


def speech_regions(audio: np.ndarray) -> list[tuple[int, int]]:
    from faster_whisper.vad import VadOptions

    from clipdex.speech.vad import speech_timestamps

    # in blocks: the VAD's memory grows with its input (10.5 GB peak for a two-hour film in one go)
    ts = speech_timestamps(audio, VadOptions(threshold=0.4, min_silence_duration_ms=300, speech_pad_ms=100))
    return [(t["start"], t["end"]) for t in ts]


def pieces(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, step, least = [], int(PIECE_S * SR), int(MIN_PIECE_S * SR)
    for a, b in regions:
        n = max(1, round((b - a) / step))
        edges = np.linspace(a, b, n + 1).astype(int)
        for x, y in zip(edges[:-1], edges[1:]):
            if y - x >= least:
                out.append((int(x), int(y)))
    return out


def embed(audio: np.ndarray, spans: list[tuple[int, int]], batch: int = 64) -> np.ndarray:
    """One unit d-vector per span: resemblyzer's ``embed_utterance`` (partials of 1.6 s at 1.3 a second,
    their mean, L2-normed), with the partials of every span run through the encoder in batches.

    Called span by span, the LSTM ran once per two-second piece (194 calls for a 10-minute talk) and
    the Python between calls held the GIL the visual stage's lanes wait on; batched, it runs a few
    times per video. Each span's mel spectrogram and volume normalisation are computed as before, so
    the d-vectors equal the per-span ones up to float rounding (tests/speech/test_diarization_batch.py).
    """
    import torch
    from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram

    enc = encoder()
    if not spans:
        return np.zeros((0, 256), np.float32)
    partials: list[np.ndarray] = []
    owner: list[int] = []
    for k, (a, b) in enumerate(spans):
        wav = normalize_volume(audio[a:b], -30, increase_only=True)
        wav_slices, mel_slices = enc.compute_partial_slices(len(wav), 1.3, 0.75)
        if wav_slices[-1].stop >= len(wav):
            wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)), "constant")
        mel = wav_to_mel_spectrogram(wav)
        partials += [mel[s] for s in mel_slices]
        owner += [k] * len(mel_slices)
    out = []
    with torch.no_grad():
        for i in range(0, len(partials), batch):
            out.append(enc(torch.from_numpy(np.stack(partials[i:i + batch])).to(enc.device)).cpu().numpy())
    flat = np.concatenate(out)
    own = np.asarray(owner)
    vecs = np.stack([flat[own == k].mean(axis=0) for k in range(len(spans))])
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


def _split_by_silhouette(vecs: np.ndarray, opts: DiarizationOptions, labels: np.ndarray) -> np.ndarray:
    """Two to four speakers where the d-vectors fall into clearly separate groups, else ``labels``.

    The smallest k whose silhouette is within 0.05 of the best is taken: an extra cluster that only
    splits one speaker's pieces scores about the same as the right answer, never much better.
    """
    if len(vecs) < opts.split_min_pieces:
        return labels
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    units = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    scored = []
    for k in range(2, min(4, len(vecs) - 1) + 1):
        found = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(units)
        scored.append((float(silhouette_score(units, found, metric="cosine")), k, found))
    best = max((s for s, _, _ in scored), default=0.0)
    if best < opts.split_silhouette:
        return labels
    return next(found for s, _, found in scored if s >= best - 0.05)


def cluster(vecs: np.ndarray, spans: list[tuple[int, int]], opts: DiarizationOptions) -> list[int]:
    if len(vecs) <= 1:
        return [0] * len(vecs)
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                     distance_threshold=opts.threshold).fit_predict(vecs)
    dur = np.array([b - a for a, b in spans], dtype=float)
    labels = _fold_small(vecs, labels, dur, opts)
    if len(set(labels)) == 1:  # also when a stray piece was the only split and got folded back
        labels = _fold_small(vecs, _split_by_silhouette(vecs, opts, labels), dur, opts)
    order: dict[int, int] = {}
    for lab in labels:
        order.setdefault(int(lab), len(order))
    return [order[int(lab)] for lab in labels]


def _fold_small(vecs: np.ndarray, labels: np.ndarray, dur: np.ndarray, opts: DiarizationOptions) -> np.ndarray:
    labels = np.array(labels)
    while True:  # fold clusters with too little speech into their nearest neighbour
        ids = sorted(set(labels))
        share = {k: dur[labels == k].sum() / dur.sum() for k in ids}
        small = [k for k in ids if share[k] < opts.min_speaker_share]
        if not small or len(ids) == 1:
            break
        k = min(small, key=share.get)
        cents = {j: vecs[labels == j].mean(axis=0) for j in ids if j != k}
        ck = vecs[labels == k].mean(axis=0)
        near = max(cents, key=lambda j: float(np.dot(cents[j], ck) / (np.linalg.norm(cents[j]) * np.linalg.norm(ck))))
        labels[labels == k] = near
    return labels


def diarize(audio: np.ndarray, opts: DiarizationOptions = DiarizationOptions()) -> dict:
    """``{"speakers": [...], "turns": [{"start", "end", "speaker"}]}`` for 16 kHz mono audio."""
    spans = pieces(speech_regions(audio))
    vecs = embed(audio, spans)
    labels = cluster(vecs, spans, opts)
    turns: list[dict] = []
    for (a, b), lab in zip(spans, labels):
        spk = f"S{lab + 1}"
        if turns and turns[-1]["speaker"] == spk and a / SR - turns[-1]["end"] < 1.0:
            turns[-1]["end"] = round(b / SR, 3)
        else:
            turns.append({"start": round(a / SR, 3), "end": round(b / SR, 3), "speaker": spk})
    speakers = sorted({t["speaker"] for t in turns}, key=lambda s: int(s[1:]))
    lab = np.array(labels)
    centroids = {f"S{k + 1}": [round(float(x), 6) for x in unit(vecs[lab == k].mean(axis=0))]
                 for k in sorted(set(labels))}
    return {"version": 2, "speakers": speakers, "turns": turns, "centroids": centroids, "names": {}}


class VoiceProfiles(Input):
    """The tenant's named voices, to name the speakers found (this tenant's only)."""

    def __init__(self, profiles: list) -> None:
        self.profiles = profiles

    @classmethod
    def load(cls, src: Source) -> "VoiceProfiles":
        profiles = tenant_profiles(src.session, src.tenant_id)
        for p in profiles:  # read after the session closes
            src.session.expunge(p)
        return cls(profiles)


class DiarizeStage:
    name, version = "diarize", "3"  # 3: telephone calls split by silhouette (issue 17)
    requires = ("extract_audio",)
    inputs = (Audio, VoiceProfiles)
    outputs = (Speakers,)
    queue = "cpu"

    def run(self, ctx):
        if ctx.upstream.get("extract_audio", {}).get("skipped"):
            return StageResult.skipped("no audio")
        audio = stage_audio(ctx)
        ctx.progress(0.1)
        result = diarize(audio, DiarizationOptions(threshold=ctx.settings.diarization_threshold))
        result["names"] = match(result["centroids"], ctx.input(VoiceProfiles).profiles)
        ctx.check_alive()
        return StageResult(output={"speakers": len(result["speakers"]), "turns": len(result["turns"]),
                                   "named": sorted(n["name"] for n in result["names"].values())},
                           artifacts=[Speakers(result, meta={"speakers": len(result["speakers"])})])


STAGE = DiarizeStage()
