"""On-screen text in search: a number on a slide that shares no word with the query ("250" for
"budget") is no hit, and on-screen text without a query word never outranks speech with one."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from clipdex.search import moments
from clipdex.search.embed import get_embedder
from clipdex.search.retrieve import retrieve
from clipdex.search.store import IndexStore
from tests.conftest import make_settings


def _row(video_id, kind: str, n: int, text: str, vec, start: float) -> dict:
    return {"id": f"{video_id}:{kind}:{n}", "video_id": str(video_id), "modality": kind, "start": start,
            "end": start + 5, "text": text, "speaker": None, "language": "en", "people": [], "tags": [],
            "words": None, "thumb_key": None, "uploaded_ts": 1.7e9, "vector": vec}


FILLER = ["the team met on a rainy monday morning", "our designers showed the new console pages",
          "someone asked about the holiday schedule", "the cafeteria menu changed again last week",
          "we will hire two more engineers in berlin", "the office plants need more light"]


def test_ocr_without_a_query_word_ranks_below_speech_with_one(tmp_path):
    settings = make_settings(tmp_path)
    store, emb = IndexStore(settings), get_embedder(settings)
    tenant, talk, slides = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # many spoken mentions: the deeper ones get little from rank fusion, which is where numbers crept in
    speech = [f"{FILLER[i % len(FILLER)]} and by the way the budget item number {i} came up" for i in range(30)]
    ocr = ["250", "150", "50", "Finance 2026", "Spending plan", "Cost overview"]
    store.replace_video(tenant, talk, emb, [_row(talk, "transcript", i, t, v, i * 10.0)
                                            for i, (t, v) in enumerate(zip(speech, emb.encode(speech)))])
    store.replace_video(tenant, slides, emb, [_row(slides, "ocr", i, t, v, i * 10.0)
                                              for i, (t, v) in enumerate(zip(ocr, emb.encode(ocr)))])
    hits = retrieve(SimpleNamespace(settings=settings), tenant, "budget", k=60)
    said = [h.score for h in hits if h.modality == "transcript"]
    unrelated = [(h.text, h.score) for h in hits if h.modality == "ocr"]
    assert len(said) == 30
    # numbers and loosely close strings are not hits for a word they do not contain; a paraphrase is
    assert {t for t, _ in unrelated} == {"Spending plan", "Cost overview"}, unrelated
    assert all(score < min(said) for _, score in unrelated), (min(said), unrelated)
    assert moments.merge(hits)[0].video_id == talk


def test_ocr_with_the_query_word_is_not_held_back(tmp_path):
    settings = make_settings(tmp_path)
    store, emb = IndexStore(settings), get_embedder(settings)
    tenant, talk, slides = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    speech = "we talked about the weather and the budget for a while"
    store.replace_video(tenant, talk, emb, [_row(talk, "transcript", 0, speech, emb.encode([speech])[0], 0.0)])
    slide_text = "Budget 2026"
    store.replace_video(tenant, slides, emb, [_row(slides, "ocr", 0, slide_text, emb.encode([slide_text])[0], 0.0)])
    hits = retrieve(SimpleNamespace(settings=settings), tenant, "budget 2026")
    assert hits[0].modality == "ocr" and hits[0].text == "Budget 2026"
