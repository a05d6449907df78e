"""``clipdex eval asr``: transcription quality, speaker counts and speed on a labelled corpus."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from clipdex.speech import routing
from clipdex.speech.asr_models import AsrOptions, load_whisper
from clipdex.speech.audio import SR, chunk_bounds, load_any
from clipdex.evaluation.wer import CHAR_LANGS, error_rate

KINDS = ("speech_asr", "speech_multispeaker", "av_speech")


def transcribe_file(model, opts: AsrOptions, audio, language: str | None, chunk_s: float) -> list[dict]:
    """The same path as stage ``transcribe``: quiet-point chunks, cleaned segments."""
    from clipdex.analyzers.transcription import transcribe_chunk

    if not model.model.is_multilingual:
        language = "en"
    per_segment = model.model.is_multilingual and language is None  # as the stage does
    segs = []
    for a, b in chunk_bounds(audio, chunk_s):
        segs += transcribe_chunk(model, audio[a:b], opts, language, a / SR, per_segment)["segments"]
    return segs


def evaluate(corpus: Path, opts: AsrOptions, cache_dir: Path, *, declare_language: bool = False,
             chunk_s: float = 120.0, limit: int | None = None, routing_settings=None) -> dict:
    """``routing_settings``: route each file as the transcribe stage does (language identification
    sends non-English speech to the multilingual model); None: every file on ``opts.model``."""
    manifest = json.loads((corpus / "MANIFEST.json").read_text())
    entries = [e for e in manifest["entries"] if e["kind"] in KINDS][:limit]
    t0 = time.perf_counter()
    load_whisper(opts, cache_dir)  # cached: the files below reuse it, so its load time is reported apart
    load_s = time.perf_counter() - t0
    used: dict[str, int] = {}
    files, per_lang, audio_s, proc_s = [], {}, 0.0, 0.0
    spk_hits = spk_total = 0
    ders: list[float] = []
    for e in entries:
        audio = load_any(corpus / e["file"])
        lang = e.get("language") or "en"
        started = time.perf_counter()
        file_opts, route = opts, None
        if routing_settings is not None:
            route = routing.choose(routing_settings, opts.model, declared=lang if declare_language else None,
                                   tenant_language=None, audio=audio,
                                   load=lambda m: load_whisper(replace(opts, model=m), cache_dir))
            file_opts = replace(opts, model=route.model)
        used[file_opts.model] = used.get(file_opts.model, 0) + 1
        declared = (route.language if route else None) or (lang if declare_language else None)
        segs = transcribe_file(load_whisper(file_opts, cache_dir), file_opts, audio, declared, chunk_s)
        found_speakers = der_row = None
        if e["kind"] == "speech_multispeaker":
            from clipdex.analyzers.diarization import diarize

            found = diarize(audio)
            found_speakers = len(found["speakers"])
            der_row = _der_of(e["ground_truth"], segs, found["turns"])
        took = time.perf_counter() - started
        hyp = " ".join(s["text"] for s in segs)
        ref = e["ground_truth"]["reference"]
        errs, n = error_rate(ref, hyp, lang)
        dur = len(audio) / SR
        audio_s, proc_s = audio_s + dur, proc_s + took
        acc = per_lang.setdefault(lang, [0, 0])
        acc[0], acc[1] = acc[0] + errs, acc[1] + n
        row = {"id": e["id"], "file": e["file"], "kind": e["kind"], "language": lang,
               "detected": sorted({s["language"] for s in segs}), "metric": "cer" if lang in CHAR_LANGS else "wer",
               "error_rate": round(errs / n, 4) if n else None, "edits": errs, "ref_units": n,
               "duration_s": round(dur, 2), "seconds": round(took, 3), "hypothesis": hyp, "model": file_opts.model,
               "routed": route.reason if route else None,
               "identified": (route.identified or {}).get("language") if route else None}
        want = e["ground_truth"].get("speakers")
        if found_speakers is not None and want:
            spk_total += 1
            spk_hits += int(found_speakers == want)
            row |= {"speakers_expected": want, "speakers_found": found_speakers}
        if der_row:
            row["der"] = der_row
            ders.append(der_row["der"])
        files.append(row)
    return {"model": opts.model, "models_used": used, "routing": routing_settings is not None,
            "beam_size": opts.beam_size, "declared_language": declare_language,
            "wer": {k: round(v[0] / v[1], 4) for k, v in sorted(per_lang.items()) if k not in CHAR_LANGS and v[1]},
            "cer": {k: round(v[0] / v[1], 4) for k, v in sorted(per_lang.items()) if k in CHAR_LANGS and v[1]},
            "speaker_count_accuracy": round(spk_hits / spk_total, 4) if spk_total else None,
            "der": round(sum(ders) / len(ders), 4) if ders else None,
            "rtf": round(proc_s / audio_s, 4) if audio_s else None, "audio_s": round(audio_s, 1),
            "model_load_s": round(load_s, 2), "files": files}


def _der_of(truth: dict, segments: list[dict], turns: list[dict]) -> dict | None:
    """DER (0.25 s collar) where the reference tags its words with speakers; the tagged words get
    their times from the transcript's words (the corpus gives no times, see ``der.reference_turns``)."""
    from clipdex.evaluation.der import der, reference_turns, turns_of

    tagged = truth.get("words_with_speaker_tag")
    if not tagged:
        return None
    reference = reference_turns(tagged, [w for s in segments for w in s.get("words", [])])
    return der(reference, turns_of(turns)).as_dict() if reference else None


def render(result: dict, console) -> None:
    from rich.table import Table

    title = f"ASR {result['model']}" + (" with language routing" if result.get("routing") else "")
    t = Table("file", "lang", "model", "detected", "metric", "rate", "dur s", "proc s", "speakers", title=title)
    for f in result["files"]:
        spk = f"{f['speakers_found']}/{f['speakers_expected']}" if "speakers_found" in f else ""
        spk += f" DER {f['der']['der']:.3f}" if f.get("der") else ""
        t.add_row(f["file"], f["language"], f.get("model", result["model"]), ",".join(f["detected"]), f["metric"],
                  f"{f['error_rate']:.3f}" if f["error_rate"] is not None else "-", f"{f['duration_s']:.1f}",
                  f"{f['seconds']:.2f}", spk)
    console.print(t)
    s = Table("language", "metric", "corpus rate", title="corpus")
    for k, v in result["wer"].items():
        s.add_row(k, "wer", f"{v:.3f}")
    for k, v in result["cer"].items():
        s.add_row(k, "cer", f"{v:.3f}")
    console.print(s)
    console.print(f"speaker-count accuracy {result['speaker_count_accuracy']}  DER {result.get('der')}  "
                  f"RTF {result['rtf']}  "
                  f"audio {result['audio_s']} s  model load {result['model_load_s']} s")
