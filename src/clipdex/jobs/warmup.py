"""Worker start: the per-stage thread budget, then the models of the enabled stages, in the background.

A cold worker used to load each model inside the first stage that needed it, while the other stages
of the same job loaded theirs: measured on a 60 s talk, the first job took 56 s against 26 s warm,
diarization alone 40 s (its model import competing with the visual stage's). The warm-up thread loads
them one after another as soon as the worker starts, while the first stages (probe, audio
extraction, the decode) need none; a stage that asks for a model still loading waits for that load
instead of starting a second one (``ModelCache`` locks per key).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from clipdex.analyzers import runtime

log = logging.getLogger("clipdex.warmup")


def loaders(settings) -> list[tuple[str, Callable[[], object]]]:
    """(name, load) of every model an enabled stage of this worker will use, in the order a job needs them."""
    from clipdex.pipeline import registry

    planned = set(registry.all_stages()) - set(settings.disabled_stages)
    out: list[tuple[str, Callable[[], object]]] = []
    # the visual stage starts first (right after the probe) and runs longest: its models come first
    if "visual" in planned:
        if settings.visual_ocr:
            from clipdex.analyzers.ocr import warm_engine

            out.append(("rapidocr", warm_engine))
        if settings.visual_faces:
            from clipdex.analyzers.faces import warm_face_models

            out.append(("yunet+sface", warm_face_models))
        if settings.visual_tags:
            from clipdex.analyzers.tags import imagenet_tagger

            out.append(("efficientnet-lite0", imagenet_tagger))
    if "compliance" in planned and settings.compliance_nudity:  # sampled inside the visual decode
        from clipdex.compliance import nudity

        out.append(("open_nsfw", nudity.classifier))
    if "diarize" in planned:
        from clipdex.analyzers.diarization import encoder

        out.append(("resemblyzer", encoder))
    if "transcribe" in planned:
        from clipdex.speech.asr_models import AsrOptions, load_whisper
        from clipdex.speech.routing import english_only

        if settings.asr_language_routing and english_only(settings.asr_model):
            out.append((f"whisper-{settings.asr_multilingual_model} (language id)", lambda: load_whisper(
                AsrOptions.from_settings(settings, settings.asr_multilingual_model),
                settings.resolved_model_cache_dir)))
        out.append((f"whisper-{settings.asr_model}", lambda: load_whisper(
            AsrOptions.from_settings(settings), settings.resolved_model_cache_dir)))
    if "sound_events" in planned:
        from clipdex.analyzers.sound_events import yamnet

        out.append(("yamnet", yamnet))
    if "index" in planned:
        from clipdex.search.embed import get_embedder

        out.append(("embedder", lambda: get_embedder(settings)))
    return out


last: dict[str, float] = {}  # seconds per model of this process's warm-up (benchmarks print it)


def warm(settings, stop: threading.Event | None = None) -> dict[str, float]:
    """Load the models one by one (seconds per model); a failure is logged and left to the stage."""
    took = last
    for name, load in loaders(settings):
        if stop is not None and stop.is_set():
            break
        t0 = time.perf_counter()
        try:
            load()
        except Exception:  # the stage that needs it reports the error properly
            log.warning("warm-up of %s failed; the stage will load it", name, exc_info=True)
            continue
        took[name] = round(time.perf_counter() - t0, 2)
    runtime.trim()  # loading's scratch memory, freed in this thread's arena, goes back to the system
    log.info("models warm: %s", took)
    return took


def start(settings, slots: int, stop: threading.Event | None = None) -> threading.Thread | None:
    """Set the thread budget for ``slots`` concurrent stages, then warm the models in a daemon thread."""
    runtime.configure(settings, slots)
    if not settings.worker_warmup or slots <= 0:
        return None
    t = threading.Thread(target=warm, args=(settings, stop), daemon=True, name="model-warmup")
    t.start()
    return t
