"""Stage ``transcribe``: faster-whisper over the extracted audio, in checkpointed chunks.

Long audio is cut at quiet points into chunks of ``asr_chunk_s``. Each finished chunk is stored at
a deterministic key under this stage's folder (``chunk-{plan}-{i}.json``, where ``plan`` hashes the
model, options and the chunk bounds), so a worker killed mid-file resumes at the first missing
chunk when the runner hands the stage out again. The result is ``transcript.json``.

With a multilingual model, every chunk whose speech is not English is also run through Whisper's
``translate`` task; the English segments are kept in the same checkpoint and end up in
``transcript.json`` under ``translation`` (the ``en-translation`` track of the transcript API).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from clipdex.pipeline.artifacts import Audio, Input, Source, TenantSettings, Transcript
from clipdex.pipeline.stage import StageResult
from clipdex.speech import cleanup
from clipdex.speech import routing
from clipdex.speech import words as wording
from clipdex.speech.asr_models import AsrOptions, load_whisper
from clipdex.speech.audio import SR, chunk_bounds, stage_audio
from clipdex.training import glossary

# The decoder settings we ship. Checked by tests on speech/music/speech input (a known faster-whisper
# trap: VAD + word timestamps returned no segments on such a file with other VAD parameters).
VAD_PARAMETERS = {"threshold": 0.35, "min_silence_duration_ms": 700, "speech_pad_ms": 300}
DECODE = {"word_timestamps": True, "condition_on_previous_text": False, "no_speech_threshold": 0.6,
          "log_prob_threshold": -1.0, "compression_ratio_threshold": 2.4,
          "temperature": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]}
# Per-segment language (multilingual model, no declared language): detection on speech blocks.
LANG_VAD = {"threshold": 0.35, "min_silence_duration_ms": 800, "speech_pad_ms": 100}
MAX_LANG_PROBES, MIN_PROBE_S = 16, 1.5


def transcribe_array(model, audio: np.ndarray, opts: AsrOptions, language: str | None, offset_s: float = 0.0,
                     task: str = "transcribe", on_progress=None) -> dict:
    """One chunk: cleaned segments with absolute times, plus the language Whisper used.

    ``on_progress(t)``: called as decoding passes each segment, with the absolute time reached.
    """
    segs, info = model.transcribe(audio, language=language, task=task, beam_size=opts.beam_size,
                                  vad_filter=opts.vad, vad_parameters=VAD_PARAMETERS if opts.vad else None,
                                  **DECODE)
    raw = []
    for s in segs:
        words = [{"raw": w.word, "start": round(w.start + offset_s, 3), "end": round(w.end + offset_s, 3),
                  "probability": round(float(w.probability), 4)} for w in (s.words or [])]
        raw.append({"start": round(s.start + offset_s, 3), "end": round(s.end + offset_s, 3), "text": s.text.strip(),
                    "words": words, "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_prob,
                    "compression_ratio": s.compression_ratio})
        if on_progress is not None:  # segments are decoded lazily: this is the decoder's real position
            on_progress(offset_s + s.end)
    lang = language or info.language
    segments = []
    for s in cleanup.clean_segments(raw):
        words = [{"word": w["raw"].strip(), "space": wording.space_before(w["raw"]), "start": w["start"],
                  "end": w["end"], "probability": w["probability"]} for w in s["words"] if w["raw"].strip()]
        if not words:
            continue
        segments.append({"start": words[0]["start"], "end": max(words[-1]["end"], words[0]["start"]),
                         "text": s["text"], "language": lang, "speaker": None,
                         "confidence": round(cleanup.mean_prob(words), 4), "words": words})
    return {"language": lang, "language_probability": round(float(info.language_probability or 0.0), 4),
            "segments": segments}


def plan_key(opts: AsrOptions, language: str | None, bounds: list[tuple[int, int]], multilingual: bool = False) -> str:
    extra = ["translate", "segment-language", LANG_VAD, MAX_LANG_PROBES, MIN_PROBE_S] if multilingual else []
    basis = json.dumps([asdict(opts), language, bounds, VAD_PARAMETERS, DECODE] + extra, sort_keys=True)
    return hashlib.sha256(basis.encode()).hexdigest()[:12]


def language_runs(model, audio: np.ndarray) -> list[tuple[int, int, str]]:
    """``(start, end, language)`` sample ranges covering a chunk, one language each, from language
    detection on its speech blocks; empty when the chunk holds one language (or none is sure).

    At most MAX_LANG_PROBES detections a chunk (each is one encoder pass): neighbouring blocks are
    merged to stay under it.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    blocks = [(t["start"], t["end"]) for t in get_speech_timestamps(audio, VadOptions(**LANG_VAD))]
    while len(blocks) > MAX_LANG_PROBES:
        i = min(range(len(blocks) - 1), key=lambda k: blocks[k + 1][1] - blocks[k][0])
        blocks[i:i + 2] = [(blocks[i][0], blocks[i + 1][1])]
    langs: list[str | None] = []
    for a, b in blocks:
        lang = None
        if b - a >= MIN_PROBE_S * SR:
            code, prob, _ = model.detect_language(audio[a:b])
            lang = code if prob >= 0.5 else None
        langs.append(lang)
    known = [x for x in langs if x]
    if len(set(known)) < 2:
        return []
    runs: list[list] = []
    cur = known[0]
    for (a, b), lang in zip(blocks, langs):
        cur = lang or cur  # an unsure block keeps the language before it
        if runs and runs[-1][2] == cur:
            runs[-1][1] = b
        else:
            runs.append([a, b, cur])
    edges = [0] + [(runs[i][1] + runs[i + 1][0]) // 2 for i in range(len(runs) - 1)] + [len(audio)]
    return [(int(edges[i]), int(edges[i + 1]), r[2]) for i, r in enumerate(runs)]


def transcribe_chunk(model, audio: np.ndarray, opts: AsrOptions, language: str | None, offset_s: float,
                     per_segment_language: bool, on_progress=None) -> dict:
    """One chunk; with ``per_segment_language`` each run of one language is decoded in that language."""
    runs = language_runs(model, audio) if per_segment_language else []
    if not runs:
        return transcribe_array(model, audio, opts, language, offset_s=offset_s, on_progress=on_progress)
    parts = [transcribe_array(model, audio[a:b], opts, lang, offset_s=offset_s + a / SR, on_progress=on_progress)
             for a, b, lang in runs]
    spoken: dict[str, float] = {}
    for (a, b, lang) in runs:
        spoken[lang] = spoken.get(lang, 0.0) + (b - a) / SR
    return {"language": max(spoken, key=spoken.get), "languages": sorted(spoken),
            "language_probability": min(p["language_probability"] for p in parts),
            "segments": [s for p in parts for s in p["segments"]]}


def translate_chunk(model, audio: np.ndarray, opts: AsrOptions, part: dict, offset_s: float) -> list[dict] | None:
    """English segments of a chunk with speech in another language (None: all English already).

    Each run of segments in one other language is translated from its own audio; English passes through.
    """
    segs = part["segments"]
    if all(s["language"] == "en" for s in segs):
        return None
    out, i = [], 0
    while i < len(segs):
        lang, j = segs[i]["language"], i
        while j + 1 < len(segs) and segs[j + 1]["language"] == lang:
            j += 1
        if lang == "en":
            out += segs[i:j + 1]
        else:
            a = max(0, int((segs[i]["start"] - offset_s - 0.5) * SR))
            b = min(len(audio), int((segs[j]["end"] - offset_s + 0.5) * SR))
            tr = transcribe_array(model, audio[a:b], opts, lang, offset_s=offset_s + a / SR, task="translate")
            out += [dict(s, language="en", source_language=lang) for s in tr["segments"]]
        i = j + 1
    return out


def assemble(chunks: list[dict], model_name: str, duration_s: float) -> dict:
    segments = [s for c in chunks for s in c["segments"]]
    for i, s in enumerate(segments):
        s["index"] = i
    langs: dict[str, float] = {}
    for s in segments:
        langs[s["language"]] = langs.get(s["language"], 0.0) + s["end"] - s["start"]
    language = max(langs, key=langs.get) if langs else (chunks[0]["language"] if chunks else None)
    out = {"version": 1, "model": model_name, "language": language, "languages": sorted(langs),
           "duration_s": round(duration_s, 3), "chunks": len(chunks), "segments": segments, "translation": None}
    if any(c.get("translation") for c in chunks):
        # English chunks of a mixed video are already English: they join the track as they are
        tr = [s for c in chunks for s in (c.get("translation") or [x for x in c["segments"] if x["language"] == "en"])]
        for i, s in enumerate(tr):
            s["index"] = i
        out["translation"] = {"language": "en", "source_languages": sorted(set(langs) - {"en"}), "segments": tr}
    return out


class GlossaryHints(Input):
    """The tenant's custom vocabulary for this video, as Whisper hotwords (None: no glossary)."""

    def __init__(self, hotwords: str | None) -> None:
        self.hotwords = hotwords

    @classmethod
    def load(cls, src: Source) -> "GlossaryHints":
        return cls(glossary.hotwords(glossary.terms_for(src.session, src.tenant_id, src.video_id)))


class TranscribeStage:
    name, version = "transcribe", "1"
    requires = ("extract_audio",)
    inputs = (Audio, TenantSettings, GlossaryHints)
    outputs = (Transcript, "chunk-*.json", "route-*.json")
    queue = "cpu"

    def queue_for(self, settings) -> str:
        """Whisper on a GPU runs on the gpu queue's workers; on CPU anywhere."""
        return "gpu" if settings.asr_device.startswith("cuda") else "cpu"

    def _route(self, ctx, audio) -> routing.Route:
        """The model and language for this video, decided once (kept beside the chunks for a resumed job)."""
        st, blobs = ctx.settings, ctx.platform.blobs
        tenant = ctx.input(TenantSettings).values
        chosen = tenant.get("asr_model")
        name = chosen if chosen in st.asr_tenant_models else st.asr_model
        basis = [name, ctx.video.language, tenant.get("asr_language"), st.asr_language_routing,
                 st.asr_multilingual_model, st.asr_language_id_windows, st.asr_language_min_probability]
        key = ctx.artifact_key(f"route-{hashlib.sha256(json.dumps(basis).encode()).hexdigest()[:12]}.json")
        if blobs.exists(key):  # decided by an earlier attempt with the same inputs
            with blobs.open(key) as f:
                return routing.Route(**json.load(f))
        route = routing.choose(st, name, declared=ctx.video.language, tenant_language=tenant.get("asr_language"),
                               audio=audio, load=lambda m: load_whisper(AsrOptions.from_settings(st, m),
                                                                        st.resolved_model_cache_dir))
        with ctx.scratch_dir() as tmp:
            out = Path(tmp) / "route.json"
            out.write_text(json.dumps(route.public()))
            blobs.put_file(key, out)
        return route

    def run(self, ctx):
        if ctx.upstream.get("extract_audio", {}).get("skipped"):
            return StageResult.skipped("no audio")
        blobs = ctx.platform.blobs
        audio = stage_audio(ctx)
        route = self._route(ctx, audio)
        opts = AsrOptions.from_settings(ctx.settings, route.model)
        model = load_whisper(opts, ctx.settings.resolved_model_cache_dir)
        hints = ctx.input(GlossaryHints).hotwords  # the tenant's custom vocabulary (issue 13)
        language = route.language if model.model.is_multilingual else "en"
        bounds = chunk_bounds(audio, ctx.settings.asr_chunk_s)
        translate = bool(model.model.is_multilingual)
        plan = glossary.plan_with_hints(plan_key(opts, language, bounds, translate), hints)
        model = glossary.with_hints(model, hints)
        per_segment_language = translate and language is None
        chunks, resumed = [], 0
        total_s = max(len(audio) / SR, 1e-3)
        share = 0.85 if translate else 0.97  # of each chunk's time: decoding (then translating, storing)
        ctx.progress(0.01)

        def decoded(i: int, t: float) -> None:  # audio seconds transcribed so far, as the decoder moves
            a, b = bounds[i]
            ctx.progress((a / SR + share * max(0.0, min(t - a / SR, (b - a) / SR))) / total_s)

        with ctx.scratch_dir() as tmp:
            for i, (a, b) in enumerate(bounds):
                key = ctx.artifact_key(f"chunk-{plan}-{i:05d}.json")
                if blobs.exists(key):  # finished by an earlier attempt: never transcribed twice
                    with blobs.open(key) as f:
                        chunks.append(json.load(f))
                    resumed += 1
                    continue
                ctx.check_alive()
                part = transcribe_chunk(model, audio[a:b], opts, language, a / SR, per_segment_language,
                                        on_progress=lambda t, i=i: decoded(i, t))
                part |= {"index": i, "start": round(a / SR, 3), "end": round(b / SR, 3)}
                if translate:
                    ctx.check_alive()
                    part["translation"] = translate_chunk(model, audio[a:b], opts, part, a / SR)
                ctx.check_alive()
                out = Path(tmp) / f"chunk-{i}.json"
                out.write_text(json.dumps(part))
                blobs.put_file(key, out)
                chunks.append(part)
                ctx.progress(b / SR / total_s)
            transcript = assemble(chunks, opts.model, len(audio) / SR)
            transcript["routing"] = route.public()
        stored = Transcript(transcript, meta={"model": opts.model, "language": transcript["language"],
                                              "segments": len(transcript["segments"])})
        return StageResult(output={"model": opts.model, "language": transcript["language"], "routed": route.reason,
                                   "segments": len(transcript["segments"]), "chunks": len(bounds),
                                   "resumed_chunks": resumed, "translated": bool(transcript["translation"])},
                           artifacts=[stored])


STAGE = TranscribeStage()
