"""Search through the real pipeline: espeak-ng speech, drawn on-screen text, two tenants, deletes."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from clipdex.app import create_app
from tests.conftest import drain, new_tenant, upload
from tests.search.library import SECRET_B, assert_ready, pipeline_platform, spoken_video, talk_video
from tests.visual.media import make_shots_video

V = "/api/v1"
PIPELINE = {"fetch", "probe", "extract_audio", "thumbnail", "transcribe", "visual", "index"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    p = pipeline_platform(tmp, PIPELINE)
    with TestClient(create_app(platform=p, embedded_workers=0)) as c:
        a, b = new_tenant(p, c, "Alpha"), new_tenant(p, c, "Beta")
        clip, b_start = talk_video(tmp)
        talk = upload(c, a, clip, title="Quarterly review").json()["id"]
        slides = upload(c, a, make_shots_video(tmp / "slides.mp4"), title="Slides").json()["id"]
        other = upload(c, b, spoken_video(tmp, "zebra", SECRET_B), title="Zebras").json()["id"]
        drain(p)
        assert_ready(c, ((a, talk), (a, slides), (b, other)))
        yield {"c": c, "p": p, "a": a, "b": b, "talk": talk, "slides": slides, "other": other, "b_start": b_start}
    p.close()


def _search(w, ctx, **params):
    r = w["c"].get(f"{V}/search", params=params, headers=w[ctx].headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_spoken_sentence_found_at_its_time(world):
    items = _search(world, "a", q="when is the launch planned")["items"]
    top = items[0]
    assert top["video_id"] == world["talk"] and "transcript" in top["modalities"]
    assert abs(top["start"] - world["b_start"]) <= 2.0, (top, world["b_start"])
    assert "launch" in top["snippet"].lower()
    a, b = top["highlights"][0]
    assert top["snippet"][a:b].lower() in {"launch", "planned"}
    assert top["thumbnail_url"] and "/api/v1/blobs/" in top["thumbnail_url"]


def test_typos_and_phrases(world):
    assert _search(world, "a", q="quartely budgett")["items"][0]["video_id"] == world["talk"]
    assert _search(world, "a", q='"marketing team"')["items"]
    assert not _search(world, "a", q='"team marketing"')["items"]


def test_drawn_word_found_through_ocr(world):
    items = _search(world, "a", q="clipdex")["items"]
    hit = next(i for i in items if i["video_id"] == world["slides"])
    assert "ocr" in hit["modalities"]
    assert 2.0 <= hit["start"] <= 4.6, hit  # the card is on screen from 2.4 s to 4.4 s


def test_filters(world):
    assert not [i for i in _search(world, "a", q="budget", modality="ocr")["items"] if "transcript" in i["modalities"]]
    only = _search(world, "a", q="clipdex budget", video_id=world["slides"])["items"]
    assert only and {i["video_id"] for i in only} == {world["slides"]}
    assert not _search(world, "a", q="budget", language="fr")["items"]
    assert _search(world, "a", q="budget", language="en")["items"]
    assert not _search(world, "a", q="budget", uploaded_after="2999-01-01T00:00:00Z")["items"]


def test_pagination_and_more_like_this(world):
    first = _search(world, "a", q="budget clipdex", limit=1)
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = _search(world, "a", q="budget clipdex", limit=1, cursor=first["next_cursor"])
    assert second["items"] and second["items"][0] != first["items"][0]
    like = _search(world, "a", like=f"{world['talk']}@1")
    assert all(not (i["video_id"] == world["talk"] and i["start"] <= 1 <= i["end"]) for i in like["items"])


def test_bad_requests(world):
    c, h = world["c"], world["a"].headers
    for params, code in (({}, "search.query_required"), ({"q": "x", "cursor": "garbage"}, "search.invalid_cursor"),
                         ({"like": "nonsense"}, "search.invalid_like")):
        r = c.get(f"{V}/search", params=params, headers=h)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert c.get(f"{V}/search", params={"q": "x", "modality": "smell"}, headers=h).status_code == 422
    r = c.get(f"{V}/search", params={"like": f"{uuid.uuid4()}@1"}, headers=h)
    assert r.status_code == 404


def test_tenants_never_see_each_other(world):
    assert not [i for i in _search(world, "b", q="launch planned march budget")["items"]]
    assert not _search(world, "a", q="zebra migration river")["items"]
    assert _search(world, "b", q="zebra migration river")["items"][0]["video_id"] == world["other"]
    r = world["c"].get(f"{V}/search", params={"like": f"{world['other']}@1"}, headers=world["a"].headers)
    assert r.status_code == 404


def test_a_corrected_transcript_is_searchable_at_once(world):
    c, a = world["c"], world["a"]
    assert not _search(world, "a", q="zanzibar")["items"]
    r = c.patch(f"{V}/videos/{world['talk']}/transcript/segments/0", headers=a.headers,
                json={"text": "Welcome to the Zanzibar review meeting."})
    assert r.status_code == 200, r.text
    hit = _search(world, "a", q="zanzibar")["items"][0]
    assert hit["video_id"] == world["talk"] and "Zanzibar" in hit["snippet"]


def test_model_change_needs_reindex_and_never_mixes_vectors(world):
    from clipdex.search.indexer import reindex
    from clipdex.search.store import get_store

    p, settings = world["p"], world["p"].settings
    store = get_store(settings)
    before = store.tables(world["a"].id)
    settings.embedding_model = "minilm-torch"  # another model: another table
    try:
        # until reindexed: full-text on the old table only (no vectors of another model are compared)
        assert _search(world, "a", q="launch march")["items"][0]["video_id"] == world["talk"]
        assert not _search(world, "a", q="when does the product go live")["items"]
        report = reindex(p, drop_old=True)
        assert report["videos"] == 3 and report["dropped"] == 2  # both tenants' old tables
        after = store.tables(world["a"].id)
        assert len(after) == 1 and after != before
        assert store.db(world["a"].id).open_table(after[0]).schema.metadata[b"embedding_model"] == b"all-MiniLM-L6-v2"
        assert _search(world, "a", q="when is the launch planned")["items"][0]["video_id"] == world["talk"]
    finally:
        settings.embedding_model = "minilm-onnx"
        reindex(p, drop_old=True)


def test_deleting_a_video_removes_its_hits(world):
    c, a = world["c"], world["a"]
    assert _search(world, "a", q="clipdex")["items"]
    assert c.delete(f"{V}/videos/{world['slides']}", headers=a.headers).status_code == 204
    assert not [i for i in _search(world, "a", q="clipdex")["items"] if i["video_id"] == world["slides"]]
    from clipdex.search.embed import get_embedder
    from clipdex.search.store import get_store

    table = get_store(world["p"].settings).open(a.id, get_embedder(world["p"].settings))
    assert table.count_rows(f"video_id = '{world['slides']}'") == 0
