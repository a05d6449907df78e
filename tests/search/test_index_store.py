"""The index store and retrieval without the pipeline: tenants' folders, model tables, filters, S3."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from clipdex.search import moments
from clipdex.search.documents import transcript_windows
from clipdex.search.embed import get_embedder
from clipdex.search.retrieve import Filters, matching, parse, retrieve, where_clause
from clipdex.search.store import IndexStore
from tests.conftest import make_settings
from tests.scaleout.s3_server import moto_s3, s3_overrides  # noqa: F401  (pytest fixtures)

TEXTS = ["the quarterly budget review starts on monday", "we discuss pricing for the third quarter",
         "the dog plays with a red beach ball", "always wear a helmet on the construction site"]


def _rows(embedder, video_id, texts, **extra):
    vecs = embedder.encode(texts)
    return [{"id": f"{video_id}:transcript:{i}", "video_id": str(video_id), "modality": "transcript",
             "start": i * 10.0, "end": i * 10.0 + 8, "text": t, "speaker": extra.get("speaker"), "language": "en",
             "people": extra.get("people", []), "tags": extra.get("tags", []), "words": None, "thumb_key": None,
             "uploaded_ts": 1.7e9, "vector": v} for i, (t, v) in enumerate(zip(texts, vecs))]


def _fill(settings):
    store, emb = IndexStore(settings), get_embedder(settings)
    a, b, va, vb = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    store.replace_video(a, va, emb, _rows(emb, va, TEXTS, tags=["dog"], speaker="Ana"))
    store.replace_video(b, vb, emb, _rows(emb, vb, ["secret merger with the zebra company"]))
    return SimpleNamespace(settings=settings), store, emb, (a, va), (b, vb)


@pytest.fixture
def local_settings(tmp_path):
    return make_settings(tmp_path)


def test_tenants_have_their_own_folders_and_queries_stay_inside(local_settings):
    p, store, emb, (a, va), (b, vb) = _fill(local_settings)
    assert store.uri(a) != store.uri(b) and str(a) in store.uri(a)
    assert not retrieve(p, a, "zebra merger")  # B's words, A's folder
    assert retrieve(p, b, "zebra merger")[0].video_id == vb
    hits = retrieve(p, a, "cost of the product next quarter")  # a paraphrase: vectors
    assert hits[0].video_id == va and "pricing" in hits[0].text
    assert not retrieve(p, a, "lasagna recipe with cheese")  # nothing related: no nearest-noise hits


def test_replacing_a_video_is_idempotent_and_deletes_stale_rows(local_settings):
    p, store, emb, (a, va), _ = _fill(local_settings)
    table = store.open(a, emb)
    store.replace_video(a, va, emb, _rows(emb, va, TEXTS[:2]))
    store.replace_video(a, va, emb, _rows(emb, va, TEXTS[:2]))
    assert store.open(a, emb).count_rows() == 2
    store.delete_video(a, va)
    assert store.open(a, emb).count_rows() == 0 and table is not None


def test_rows_matching_filters_alone(local_settings):
    p, store, emb, (a, va), (b, vb) = _fill(local_settings)
    rows = matching(p, a, Filters(speakers=("Ana",), tags=("dog",)), 10, score=0.5, matched=("people",))
    assert len(rows) == len(TEXTS) and {r.video_id for r in rows} == {va}
    assert {r.score for r in rows} == {0.5} and rows[0].matched == ("people",)
    assert not matching(p, a, Filters(speakers=("Bob",)), 10, score=0.5, matched=())


def test_filters_are_escaped_literals():
    w = where_clause(Filters(tags=("x') OR 1=1 --",), speakers=("O'Brien",), modalities=("transcript", "bogus")))
    assert "'x'') OR 1=1 --'" in w and "'O''Brien'" in w and "bogus" not in w
    with pytest.raises(ValueError):
        where_clause(Filters(speakers=("a\x00b",)))
    with pytest.raises(ValueError):
        where_clause(Filters(video_ids=("not-a-uuid",)))


def test_filters_apply(local_settings):
    p, store, emb, (a, va), _ = _fill(local_settings)
    assert retrieve(p, a, "beach ball", filters=Filters(tags=("dog",)))
    assert not retrieve(p, a, "beach ball", filters=Filters(tags=("cat",)))
    assert retrieve(p, a, "beach ball", filters=Filters(speakers=("Ana",)))
    assert not retrieve(p, a, "beach ball", filters=Filters(modalities=("ocr",)))
    assert not retrieve(p, a, "beach ball", filters=Filters(uploaded_after=1.8e9))


def test_windows_snippets_and_times():
    segs = [{"start": i * 3.0, "end": i * 3.0 + 2.5, "text": f"s{i}", "words": [{}] * 10} for i in range(7)]
    wins = transcript_windows(segs)
    assert [len(w) for w in wins] == [3, 3, 3] and wins[1][0] is segs[2]  # one segment of overlap
    pq = parse('budgett "third quarter"')
    assert pq.phrases == ["third quarter"] and "budgett" in pq.terms
    text, marks = moments.snippet("x " * 200 + "the budget for the third quarter " + "y " * 200, pq)
    assert len(text) <= moments.SNIPPET_CHARS + 2 and marks
    assert {text[a:b] for a, b in marks} >= {"budget", "third", "quarter"}


@pytest.mark.slow
def test_index_on_s3(tmp_path, s3_overrides, moto_s3):  # noqa: F811
    settings = make_settings(tmp_path, **s3_overrides)
    p, store, emb, (a, va), (b, vb) = _fill(settings)
    assert retrieve(p, a, "budget review monday")[0].video_id == va
    assert not retrieve(p, a, "zebra merger")
    prefix = s3_overrides["index_uri"].split("/", 3)[3]
    assert any(f"{prefix}/tenants/{a}/" in k for k in moto_s3.keys(prefix))
