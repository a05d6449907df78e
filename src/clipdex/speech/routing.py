"""Which Whisper model transcribes a video: English to the fast English model, anything else to the
multilingual one, decided by language identification on a few windows of speech.

The default model (tiny.en) is English-only: given Spanish or Korean it writes English-sounding
nonsense without a warning. So when the configured model is English-only, the multilingual model
(bundled) identifies the language first: up to ``asr_language_id_windows`` windows of speech
(found by VAD, spread over the file, ``LANG_WINDOW_S`` each), one encoder pass per window. English
stays on the English model; any window confidently in another language sends the whole video to
the multilingual model, which then detects the language per segment (mixed videos stay right).

A language the uploader declared, or the tenant's default (tenant setting ``asr_language``), skips
identification. The decision is stored with the stage's checkpoints so a resumed job keeps it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from clipdex.speech.audio import SR

LANG_WINDOW_S = 20.0
LANG_VAD = {"threshold": 0.4, "min_silence_duration_ms": 500, "speech_pad_ms": 100}
MIN_WINDOW_S = 1.0
AUTO = "auto"


@dataclass
class Route:
    model: str                      # the model that transcribes
    language: str | None            # declared to the model (None: it detects, per segment when multilingual)
    reason: str                     # declared | tenant default | identified | no speech | multilingual model | off
    identified: dict | None = None  # language identification: language, probability, windows
    windows: list[dict] = field(default_factory=list)

    def public(self) -> dict:
        return asdict(self)


def whisper_language(tag: str | None) -> str | None:
    """A BCP 47 tag as Whisper names the language ("pt-BR" -> "pt"); None for auto or one it does not know."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    code = (tag or "").strip().split("-")[0].lower()
    return code if code in _LANGUAGE_CODES else None


def english_only(name: str) -> bool:
    """tiny.en, base.en, ...: Whisper's English-only models carry the .en suffix."""
    return name.rstrip("/").endswith(".en")


def speech_windows(audio: np.ndarray, n: int, window_s: float = LANG_WINDOW_S) -> list[tuple[int, int]]:
    """Up to ``n`` windows of speech spread over the audio (sample ranges), longest speech first per slot."""
    from faster_whisper.vad import VadOptions

    from clipdex.speech.vad import speech_timestamps

    blocks = [(t["start"], t["end"]) for t in speech_timestamps(audio, VadOptions(**LANG_VAD))]
    blocks = [(a, b) for a, b in blocks if b - a >= MIN_WINDOW_S * SR]
    if not blocks or n <= 0:
        return []
    # n slots across the speech; each window starts at the block nearest its slot
    step = len(blocks) / n
    picked = sorted({int(i * step) for i in range(n)} if len(blocks) >= n else range(len(blocks)))
    out = []
    for i in picked:
        a = blocks[i][0]
        b = a
        for _x, y in blocks[i:]:  # extend over the following blocks up to the window length
            if y - a > window_s * SR:
                b = max(b, min(y, a + int(window_s * SR)))
                break
            b = y
        out.append((int(a), int(b)))
    return out


def identify(model, audio: np.ndarray, n_windows: int) -> dict | None:
    """Language identification on up to ``n_windows`` windows of speech (None: no speech found)."""
    windows = speech_windows(audio, n_windows)
    if not windows:
        return None
    totals: dict[str, float] = {}
    rows = []
    for a, b in windows:
        code, prob, all_probs = model.detect_language(audio[a:b])
        weight = (b - a) / SR
        for lang, p in all_probs or [(code, prob)]:
            totals[lang] = totals.get(lang, 0.0) + weight * float(p)
        rows.append({"start": round(a / SR, 2), "end": round(b / SR, 2), "language": code,
                     "probability": round(float(prob), 3)})
    total_w = sum((b - a) / SR for a, b in windows)
    best = max(totals, key=totals.get)
    return {"language": best, "probability": round(totals[best] / total_w, 3), "windows": rows}


def choose(settings, model_name: str, *, declared: str | None, tenant_language: str | None,
           audio: np.ndarray, load) -> Route:
    """The route for one video. ``load(name)`` returns a loaded Whisper model (the runtime cache)."""
    wanted = whisper_language(declared) or whisper_language(tenant_language)
    multi = settings.asr_multilingual_model
    if not english_only(model_name):
        return Route(model_name, wanted, "multilingual model")
    if not settings.asr_language_routing:
        return Route(model_name, "en", "off")
    if wanted:
        why = "declared" if whisper_language(declared) else "tenant default"
        return Route(model_name, "en", why) if wanted == "en" else Route(multi, wanted, why)
    found = identify(load(multi), audio, settings.asr_language_id_windows)
    if found is None:
        return Route(model_name, "en", "no speech")
    other = [w for w in found["windows"] if w["language"] != "en"
             and w["probability"] >= settings.asr_language_min_probability]
    if found["language"] == "en" and not other:
        return Route(model_name, "en", "identified", found)
    # another language (or a mix): the multilingual model detects it per segment
    return Route(multi, None, "identified", found)
