"""Fine-tuning with transformers' Trainer (LoRA through peft, or full), checkpoints in the tenant prefix.

The Trainer writes ``checkpoint-N`` folders locally; a callback copies each one to the blob store
under ``tenants/{t}/models/{model}/checkpoints/checkpoint-N/`` (a ``COMPLETE`` marker last), so a
worker killed mid-training resumes from the newest complete checkpoint on any machine.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from clipdex.errors import EmptyDataset
from clipdex.storage import keys
from clipdex.training.catalog import BaseModel

log = logging.getLogger("clipdex.training")

MARKER = "COMPLETE"
METHODS = ("lora", "full")
BOUNDS = {  # safe hyper-parameter bounds, checked at the API
    "learning_rate": (1e-6, 5e-3),
    "batch_size": (1, 32),
    "lora_r": (1, 64),
    "max_length": (32, 1024),
}


@dataclass
class TrainOptions:
    method: str = "lora"
    max_steps: int = 30
    learning_rate: float | None = None  # default per method
    batch_size: int = 4
    lora_r: int = 8
    max_length: int = 192
    save_steps: int = 10
    seed: int = 0
    device: str = "auto"

    def lr(self) -> float:
        return self.learning_rate or (1e-3 if self.method == "lora" else 5e-5)

    def public(self) -> dict:
        return {**asdict(self), "learning_rate": self.lr()}


def prompt(question: str, context: str) -> str:
    """What a model is shown, in training, evaluation and Ask alike."""
    return f"Context: {' '.join(context.split())}\nQuestion: {' '.join(question.split())}\nAnswer:"


def pick_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


def load_tokenizer(base: BaseModel):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(base.path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(base: BaseModel, dtype=None):
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    cls = AutoModelForSeq2SeqLM if base.kind == "seq2seq" else AutoModelForCausalLM
    return cls.from_pretrained(str(base.path), dtype=dtype or torch.float32)


def features(tok, base: BaseModel, items: list[dict], max_length: int) -> list[dict]:
    """Token ids and labels; the loss covers the answer only (prompt tokens are -100)."""
    out = []
    for it in items:
        p = prompt(it["question"], it.get("context") or "")
        if base.kind == "seq2seq":
            ids = tok(p, truncation=True, max_length=max_length)["input_ids"]
            labels = tok(it["answer"], truncation=True, max_length=64)["input_ids"]
            out.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
            continue
        p_ids = tok(p, add_special_tokens=False)["input_ids"]
        a_ids = tok(" " + it["answer"].strip(), add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        ids = (p_ids + a_ids)[-max_length:]
        labels = ([-100] * len(p_ids) + a_ids)[-max_length:]
        out.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
    return out


def wrap_lora(model, base: BaseModel, opts: TrainOptions):
    from peft import LoraConfig, TaskType, get_peft_model

    task = TaskType.SEQ_2_SEQ_LM if base.kind == "seq2seq" else TaskType.CAUSAL_LM
    cfg = LoraConfig(task_type=task, r=opts.lora_r, lora_alpha=2 * opts.lora_r, lora_dropout=0.0)
    return get_peft_model(model, cfg)


# --- checkpoints in the blob store --------------------------------------------------------------

@dataclass
class CheckpointStore:
    """Checkpoint folders of one model version under deterministic keys in its tenant's prefix."""

    blobs: object
    tenant_id: object
    model_id: object

    def key(self, *parts: str) -> str:
        return keys.training_blob(self.tenant_id, "models", self.model_id, *parts)

    def prefix(self) -> str:
        return keys.training_prefix(self.tenant_id, "models", self.model_id) + "checkpoints/"

    def upload(self, folder: Path) -> int:
        n = 0
        for f in sorted(p for p in folder.iterdir() if p.is_file()):
            n += self.blobs.put_file(self.key("checkpoints", folder.name, f.name), f)
        self.blobs.put_bytes(self.key("checkpoints", folder.name, MARKER), b"ok")
        return n

    def steps(self) -> list[int]:
        done = set()
        for k in self.blobs.list_prefix(self.prefix()):
            rest = k[len(self.prefix()):].split("/")
            if len(rest) == 2 and rest[1] == MARKER and rest[0].startswith("checkpoint-"):
                done.add(int(rest[0].split("-", 1)[1]))
        return sorted(done)

    def download_latest(self, into: Path) -> tuple[Path, int] | None:
        steps = self.steps()
        if not steps:
            return None
        name = f"checkpoint-{steps[-1]}"
        dest = into / name
        dest.mkdir(parents=True, exist_ok=True)
        pre = self.prefix() + name + "/"
        for k in self.blobs.list_prefix(pre):
            fname = k[len(pre):]
            if fname != MARKER and "/" not in fname:
                with self.blobs.open(k) as src, open(dest / fname, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        return dest, steps[-1]

    def prune(self, keep: int) -> None:
        for step in self.steps():
            if step != keep:
                self.blobs.delete_prefix(self.prefix() + f"checkpoint-{step}/")

    def drop_all(self) -> None:
        self.blobs.delete_prefix(self.prefix())


# --- the run ------------------------------------------------------------------------------------

@dataclass
class Hooks:
    """What the runner gives a training run: progress out, liveness in, a chaos point after a save."""

    progress: Callable[[dict], None] = lambda p: None
    check_alive: Callable[[], None] = lambda: None
    after_checkpoint: Callable[[int], None] = lambda step: None


@dataclass
class RunResult:
    model: object
    tokenizer: object
    resumed_from_step: int
    final_step: int
    seconds: float
    losses: list = field(default_factory=list)


def _callback(store: CheckpointStore, hooks: Hooks, max_steps: int, started: float):
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        first_step: int | None = None

        def on_log(self, args, state, control, logs=None, **kw):
            logs = logs or {}
            if "loss" not in logs:
                return
            if self.first_step is None:
                self.first_step = state.global_step - 1
            done = state.global_step - self.first_step
            per_step = (time.monotonic() - started) / max(1, done)
            hooks.progress({"step": state.global_step, "max_steps": max_steps, "loss": round(float(logs["loss"]), 5),
                            "learning_rate": float(logs.get("learning_rate", 0.0)),
                            "eta_s": round(per_step * (max_steps - state.global_step), 1)})
            hooks.check_alive()

        def on_save(self, args, state, control, **kw):
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.exists():
                store.upload(folder)
                store.prune(keep=state.global_step)
                hooks.after_checkpoint(state.global_step)
            hooks.check_alive()

    return Progress()


def train(base: BaseModel, items: list[dict], opts: TrainOptions, store: CheckpointStore, workdir: Path,
          hooks: Hooks | None = None) -> RunResult:
    """Fine-tune ``base`` on ``items`` (question, answer, context); resumes from the store's newest checkpoint."""
    import torch
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments, set_seed

    hooks = hooks or Hooks()
    if not items:
        raise EmptyDataset("The dataset has no training items.")
    set_seed(opts.seed)
    device = pick_device(opts.device)
    tok = load_tokenizer(base)
    model = load_model(base)
    if opts.method == "lora":
        model = wrap_lora(model, base, opts)
    out = workdir / "run"
    resumed = store.download_latest(out)
    data = features(tok, base, items, opts.max_length)
    bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
    args = TrainingArguments(
        output_dir=str(out), max_steps=opts.max_steps, per_device_train_batch_size=opts.batch_size,
        learning_rate=opts.lr(), lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0,
        logging_steps=1, save_strategy="steps", save_steps=opts.save_steps, save_total_limit=1, seed=opts.seed,
        report_to=[], disable_tqdm=True, use_cpu=device == "cpu", bf16=bf16,
        fp16=device.startswith("cuda") and not bf16, dataloader_num_workers=0, dataloader_pin_memory=False,
        remove_unused_columns=False)
    collator = DataCollatorForSeq2Seq(tok, model=None, label_pad_token_id=-100, padding=True)
    started = time.monotonic()
    trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=collator,
                      callbacks=[_callback(store, hooks, opts.max_steps, started)])
    trainer.train(resume_from_checkpoint=str(resumed[0]) if resumed else None)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    model = trainer.model
    model.eval()
    return RunResult(model, tok, resumed[1] if resumed else 0, trainer.state.global_step,
                     time.monotonic() - started, losses)


def save_final(result: RunResult, base: BaseModel, opts: TrainOptions, store: CheckpointStore,
               workdir: Path) -> tuple[str, int]:
    """Weights (adapter or full model) + tokenizer + manifest under ``weights/``; the manifest goes last.

    Deterministic keys: a redelivered or resumed job overwrites the same blobs, never adds a copy.
    """
    final = workdir / "final"
    shutil.rmtree(final, ignore_errors=True)
    result.model.save_pretrained(str(final))
    result.tokenizer.save_pretrained(str(final))
    size = 0
    for f in sorted(p for p in final.iterdir() if p.is_file()):
        size += store.blobs.put_file(store.key("weights", f.name), f)
    manifest = {"base_model": base.name, "kind": base.kind, "method": opts.method, "files":
                sorted(p.name for p in final.iterdir() if p.is_file()), "size_bytes": size}
    store.blobs.put_bytes(store.key("weights", "manifest.json"), json.dumps(manifest).encode())
    return keys.training_prefix(store.tenant_id, "models", store.model_id) + "weights/", size
