"""Custom vocabulary: WER on invented domain terms with and without the tenant glossary.

    .venv/bin/python -m bench.glossary

espeak-ng speaks sentences containing made-up product and people names; Whisper tiny.en (our
decoder settings) transcribes each with and without the glossary passed as ``hotwords`` (what the
transcribe stage does). Reports the term error rate (a term occurrence missing from the hypothesis,
case-insensitive) and the overall WER of both runs.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from bench.common import console, write_json

TERMS = ["Zorblax", "Quintarra", "Velmorix", "Drestavon", "Kalunex", "Parvesh Oduya", "Thrennix"]
SENTENCES = [
    "The Zorblax engine powers the new Quintarra console.",
    "Parvesh Oduya presented the Velmorix roadmap on Monday.",
    "Our Drestavon sensors now ship with Kalunex firmware.",
    "Customers moved from Quintarra to Thrennix last quarter.",
    "The Kalunex team fixed a bug in the Zorblax scheduler.",
    "Velmorix and Drestavon share one storage layer.",
    "Thrennix support ends when Parvesh Oduya signs the plan.",
    "Install Zorblax before you update Velmorix.",
]


def speak(text: str, out: Path, voice: str) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(out), text], check=True, capture_output=True)
    return out


def term_misses(ref: str, hyp: str) -> tuple[int, int]:
    total = missed = 0
    h = " ".join(re.findall(r"[a-z0-9]+", hyp.lower()))
    for term in TERMS:
        n = len(re.findall(rf"\b{re.escape(term.lower())}\b", ref.lower()))
        total += n
        missed += max(0, n - len(re.findall(rf"\b{re.escape(term.lower())}\b", h)))
    return missed, total


def run() -> dict:
    from clipdex.settings import Settings
    from clipdex.speech.asr_models import AsrOptions, load_whisper
    from clipdex.speech.audio import load_any
    from clipdex.evaluation.wer import error_rate
    from clipdex.analyzers.transcription import transcribe_array
    from clipdex.training.glossary import hotwords, with_hints

    settings = Settings()
    opts = AsrOptions.from_settings(settings, "tiny.en")
    model = load_whisper(opts, settings.resolved_model_cache_dir)
    hints = hotwords(TERMS)
    out = {"terms": TERMS, "sentences": len(SENTENCES) * 2, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        clips = [(s, load_any(speak(s, Path(tmp) / f"{i}-{v}.wav", v)))
                 for i, s in enumerate(SENTENCES) for v in ("en-us", "en-us+f3")]
        for label, m in (("without glossary", model), ("with glossary", with_hints(model, hints))):
            missed = total = errs = words = 0
            examples = []
            for ref, audio in clips:
                hyp = " ".join(s["text"] for s in transcribe_array(m, audio, opts, "en")["segments"])
                a, b = term_misses(ref, hyp)
                missed, total = missed + a, total + b
                e, n = error_rate(ref, hyp)
                errs, words = errs + e, words + n
                if len(examples) < 4:
                    examples.append(hyp)
            out["runs"][label] = {"term_error_rate": round(missed / total, 3), "terms": total,
                                  "wer": round(errs / max(1, words), 3), "examples": examples}
    return out


def print_result(data: dict) -> None:
    from rich.table import Table

    t = Table(title=f"glossary: {data['sentences']} espeak-ng sentences with invented terms (Whisper tiny.en)")
    for col in ("run", "term error rate", "term occurrences", "WER"):
        t.add_column(col)
    for label, r in data["runs"].items():
        t.add_row(label, str(r["term_error_rate"]), str(r["terms"]), str(r["wer"]))
    console.print(t)


def main() -> None:
    data = run()
    print_result(data)
    console.print(f"wrote {write_json('glossary', data)}")


if __name__ == "__main__":
    main()
