"""Speech benchmark: our ``transcribe`` path next to raw faster-whisper, and the RTF of all speech stages.

    .venv/bin/python -m bench.asr [--minutes 10] [--model tiny.en]

1. The same audio, model and decoder settings through (a) our stage's path (quiet-point chunks,
   cleanup, checkpoint JSON per chunk) and (b) one raw ``WhisperModel.transcribe`` call, in one run,
   alternating; reports the wall-time ratio (aim: <= 1.05).
2. Real-time factor of every speech stage (transcribe, diarize, sound_events) on a generated file
   of ``--minutes`` minutes (espeak-ng speech in two voices, sox music, silence).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import console, write_json

LINES = [("en-us", "Welcome back to the weekly engineering update for the video platform."),
         ("en-us+f3", "Thanks. This week we finished the upload service and started on search."),
         ("en-us", "The transcription stage now resumes after a crash without losing work."),
         ("en-us+f3", "Great. Next week we will measure quality on the shared corpus.")]


def make_audio(out: Path, minutes: float) -> Path:
    tmp = out.parent
    parts = []
    for i, (voice, text) in enumerate(LINES):
        p = tmp / f"l{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(p), text], check=True)
        parts.append(str(p))
    subprocess.run(["sox", "-n", "-r", "22050", "-c", "1", str(tmp / "m.wav"), "synth", "6", "pluck", "C4", "pluck",
                    "E4", "pluck", "G4", "remix", "-", "vol", "0.6"], check=True)
    subprocess.run(["sox", "-n", "-r", "22050", "-c", "1", str(tmp / "s.wav"), "synth", "2", "sine", "0", "vol", "0"],
                   check=True)
    unit = tmp / "unit.wav"
    subprocess.run(["sox", *parts, str(tmp / "s.wav"), str(tmp / "m.wav"), str(tmp / "s.wav"), "-r", "16000", "-c", "1",
                    "-b", "16", str(unit)], check=True)
    unit_s = float(subprocess.run(["soxi", "-D", str(unit)], capture_output=True, text=True, check=True).stdout)
    reps = max(1, round(minutes * 60 / unit_s))
    subprocess.run(["sox", str(unit), str(out), "repeat", str(reps - 1)], check=True)
    return out


def run(minutes: float = 10.0, model: str = "tiny.en", threads: int = 0) -> dict:
    from clipdex.analyzers.diarization import diarize
    from clipdex.analyzers.sound_events import detect
    from clipdex.analyzers.transcription import DECODE, VAD_PARAMETERS, transcribe_array
    from clipdex.speech.asr_models import AsrOptions, load_whisper
    from clipdex.speech.audio import SR, chunk_bounds, read_wav

    with tempfile.TemporaryDirectory(prefix="bench-asr-") as d:
        wav = make_audio(Path(d) / "long.wav", minutes)
        audio = read_wav(wav)
        opts = AsrOptions(model=model, threads=threads)
        whisper = load_whisper(opts, Path(d) / "models")
        dur = len(audio) / SR

        def ours():
            segs = []
            for i, (a, b) in enumerate(chunk_bounds(audio, 120.0)):
                part = transcribe_array(whisper, audio[a:b], opts, "en", offset_s=a / SR)
                (Path(d) / f"chunk-{i}.json").write_text(json.dumps(part))  # the checkpoint write
                segs += part["segments"]
            return segs

        def raw():
            segs, _ = whisper.transcribe(audio, language="en", beam_size=opts.beam_size, vad_filter=True,
                                         vad_parameters=VAD_PARAMETERS, **DECODE)
            return list(segs)

        times = {"ours": [], "raw": []}
        counts = {}
        for _ in range(2):
            for name, fn in (("raw", raw), ("ours", ours)):
                t0 = time.perf_counter()
                counts[name] = len(fn())
                times[name].append(time.perf_counter() - t0)
        best = {k: min(v) for k, v in times.items()}
        t0 = time.perf_counter()
        spk = diarize(audio)
        t_diar = time.perf_counter() - t0
        t0 = time.perf_counter()
        ev = detect(audio)
        t_ev = time.perf_counter() - t0
    return {"model": model, "audio_s": round(dur, 1), "threads": opts.cpu_threads,
            "transcribe_ours_s": round(best["ours"], 2), "transcribe_raw_s": round(best["raw"], 2),
            "ratio_ours_to_raw": round(best["ours"] / best["raw"], 3), "segments": counts,
            "diarize_s": round(t_diar, 2), "speakers": len(spk["speakers"]), "sound_events_s": round(t_ev, 2),
            "events": len(ev["events"]),
            "rtf": {"transcribe": round(best["ours"] / dur, 4), "diarize": round(t_diar / dur, 4),
                    "sound_events": round(t_ev / dur, 4),
                    "all_speech_stages": round((best["ours"] + t_diar + t_ev) / dur, 4)}}


def print_result(r: dict) -> None:
    from rich.table import Table

    t = Table("measure", "value", title=f"speech bench: {r['model']} on {r['audio_s']} s, {r['threads']} threads")
    t.add_row("transcribe: ours (chunks + checkpoints + cleanup)", f"{r['transcribe_ours_s']} s")
    t.add_row("transcribe: raw faster-whisper, same settings", f"{r['transcribe_raw_s']} s")
    t.add_row("ratio ours / raw", f"{r['ratio_ours_to_raw']}")
    t.add_row("diarize", f"{r['diarize_s']} s ({r['speakers']} speakers)")
    t.add_row("sound events", f"{r['sound_events_s']} s ({r['events']} events)")
    for k, v in r["rtf"].items():
        t.add_row(f"RTF {k}", f"{v}")
    console.print(t)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--model", default="tiny.en")
    args = p.parse_args(argv)
    r = run(args.minutes, args.model)
    print_result(r)
    console.print(f"wrote {write_json('asr', r)}")


if __name__ == "__main__":
    main()
