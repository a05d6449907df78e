"""Helpers for the training tests: talks with known facts, transcripts written as the stage writes them,
a tiny randomly initialised T5 with a tokenizer built here (no pretrained seq2seq weights exist offline)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from clipdex.models import Artifact, Video
from clipdex.storage import keys

# Each talk states facts the rules turn into questions; the answers differ per talk so the test split
# asks about things the training split never saw.
TALKS = [
    ["The launch is planned for March.", "Maria Lopez leads the design team for the new platform.",
     "The company has 12 engineers in the Lisbon office."],
    ["The budget review is scheduled for October.", "Daniel Okafor runs the support desk for the product.",
     "The warehouse has 40 robots on the main floor."],
    ["The new studio is based in Toronto near the lake.", "The conference is planned for June.",
     "Priya Raman manages the video archive for the newsroom."],
    ["The first prototype was finished in 2021.", "The team is based in Nairobi near the station.",
     "The lab has 7 microscopes for the students."],
    ["The audit is planned for September.", "Tomas Berg writes the release notes for every version.",
     "The school has 30 teachers in the north building."],
]


def transcript_doc(sentences: list[str], seconds_per_word: float = 0.4) -> dict:
    """A transcript.json as the transcribe stage writes it: one segment per sentence, word timings."""
    segs, t = [], 0.0
    for i, text in enumerate(sentences):
        words = []
        for w in text.split():
            words.append({"word": w, "start": round(t, 3), "end": round(t + seconds_per_word * 0.9, 3),
                          "probability": 0.9})
            t += seconds_per_word
        segs.append({"index": i, "start": words[0]["start"], "end": words[-1]["end"], "text": text, "language": "en",
                     "speaker": None, "confidence": 0.9, "words": words})
        t += 0.5
    return {"version": 1, "model": "tiny.en", "language": "en", "languages": ["en"], "duration_s": t, "chunks": 1,
            "segments": segs, "translation": None}


def seed_talks(platform, tenant_id: uuid.UUID, talks: list[list[str]] = TALKS) -> list[uuid.UUID]:
    """Ready videos with transcripts (rows and blobs exactly where the pipeline puts them)."""
    ids = []
    with platform.db.tenant(tenant_id) as s:
        for n, talk in enumerate(talks):
            v = Video(tenant_id=tenant_id, title=f"talk {n}", status="ready", filename=f"talk{n}.mp4")
            s.add(v)
            s.flush()
            key = keys.artifact(tenant_id, v.id, "transcribe", "1", "transcript.json")
            size = platform.blobs.put_bytes(key, json.dumps(transcript_doc(talk)).encode())
            s.add(Artifact(tenant_id=tenant_id, video_id=v.id, stage="transcribe", version="1", name="transcript.json",
                           blob_key=key, content_type="application/json", size_bytes=size))
            ids.append(v.id)
    return ids


def tiny_t5(folder: Path, texts: list[str]) -> Path:
    """A randomly initialised 2-layer T5 and a word-level tokenizer trained on ``texts``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts + ["context question answer fill in the blank _____ : ."],
                            trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"]))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(str(folder))
    cfg = T5Config(vocab_size=tok.get_vocab_size(), d_model=64, d_ff=128, d_kv=16, num_layers=2,
                   num_decoder_layers=2, num_heads=4, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    T5ForConditionalGeneration(cfg).save_pretrained(str(folder))
    return folder


def all_text(talks: list[list[str]] = TALKS) -> list[str]:
    return [s for talk in talks for s in talk]
