"""Datasets from transcripts through the API: rules, spans, split by video, review, JSONL, versions;
plan limits before any lookup; the glossary."""

from __future__ import annotations

import json
import uuid

from clipdex.training import datasets, questions
from tests.conftest import new_tenant
from tests.training.support import TALKS, seed_talks, transcript_doc

V = "/api/v1"


def _dataset(client, ctx, video_ids, name="talks") -> dict:
    r = client.post(f"{V}/datasets", headers=ctx.headers, json={"name": name, "video_ids": [str(v) for v in video_ids]})
    assert r.status_code == 202, r.text
    assert set(r.json()) >= {"id", "status"}
    d = client.get(f"{V}/datasets/{r.json()['id']}", headers=ctx.headers).json()
    assert d["status"] == "ready", d
    return d


def _items(client, ctx, ds_id, **params) -> list[dict]:
    out, cursor = [], None
    while True:
        from_cursor = {"cursor": cursor} if cursor else {}
        r = client.get(f"{V}/datasets/{ds_id}/items", headers=ctx.headers, params={**params, "limit": 4, **from_cursor})
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return out


def test_rules_make_wh_and_cloze_questions_with_spans():
    pairs = datasets.generate_pairs(transcript_doc(TALKS[0])["segments"])
    got = {(p.question, p.answer) for p in pairs}
    assert ("When is the launch planned?", "March") in got
    assert ("Who leads the design team for the new platform?", "Maria Lopez") in got
    assert ("Fill in the blank: The company has _____ engineers in the Lisbon office.", "12") in got
    launch = next(p for p in pairs if p.answer == "March")
    assert launch.sentence.segment_ids == [0] and launch.sentence.start == 0.0 and 2.0 < launch.sentence.end < 2.5
    # a sentence with nothing to ask about yields nothing; near-duplicates collapse
    assert questions.pairs_for(questions.Sentence("Okay so yeah.", 0, 1, [0])) == []
    twice = datasets.generate_pairs(transcript_doc(TALKS[0] + TALKS[0])["segments"])
    assert len(twice) == len(pairs)


def test_split_is_by_video_and_deterministic():
    ids = [uuid.uuid4() for _ in range(10)]
    a, b = datasets.split_of_videos(ids), datasets.split_of_videos(list(reversed(ids)))
    assert a == b and set(a.values()) == {"train", "validation", "test"}
    assert datasets.split_of_videos(ids[:1]) == {ids[0]: "train"}


def test_dataset_build_review_export_and_versions(sq):
    platform, client = sq
    ctx = new_tenant(platform, client, "Ds", tier="pro")
    vids = seed_talks(platform, ctx.id)
    d = _dataset(client, ctx, vids)
    assert d["version"] == 1 and d["counts"]["items"] == 30 and d["counts"]["test"] > 0 and d["counts"]["train"] > 0
    items = _items(client, ctx, d["id"])
    assert len(items) == 30 and len({i["id"] for i in items}) == 30  # paging neither repeats nor skips
    splits_per_video = {}
    for it in items:
        splits_per_video.setdefault(it["video_id"], set()).add(it["split"])
        assert it["end"] > it["start"] >= 0 and it["source"] in ("wh", "cloze")
    assert all(len(s) == 1 for s in splits_per_video.values())  # no video in two splits
    test_only = _items(client, ctx, d["id"], split="test")
    assert test_only and all(i["split"] == "test" for i in test_only)
    assert all(i["source"] == "cloze" for i in _items(client, ctx, d["id"], source="cloze"))

    first = items[0]
    r = client.patch(f"{V}/datasets/{d['id']}/items/{first['id']}", headers=ctx.headers,
                     json={"answer": "in March"})
    assert r.status_code == 200 and r.json()["answer"] == "in March" and r.json()["status"] == "edited"
    r = client.post(f"{V}/datasets/{d['id']}/items", headers=ctx.headers,
                    json={"question": "Who writes the notes?", "answer": "Tomas Berg", "video_id": str(vids[4])})
    assert r.status_code == 201 and r.json()["source"] == "manual"
    assert r.json()["split"] == splits_per_video[str(vids[4])].pop()
    assert client.delete(f"{V}/datasets/{d['id']}/items/{items[1]['id']}", headers=ctx.headers).status_code == 204
    d2 = client.get(f"{V}/datasets/{d['id']}", headers=ctx.headers).json()
    assert d2["version"] == 4 and d2["counts"]["items"] == 30

    r = client.get(f"{V}/datasets/{d['id']}/export", headers=ctx.headers)
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert r.status_code == 200 and len(lines) == 30 and lines[0]["answer"] == "in March"

    other = new_tenant(platform, client, "Other", tier="pro")
    assert client.get(f"{V}/datasets/{d['id']}", headers=other.headers).status_code == 404
    assert client.get(f"{V}/datasets/{d['id']}/items", headers=other.headers).status_code == 404
    assert client.patch(f"{V}/datasets/{d['id']}/items/{first['id']}", headers=other.headers,
                        json={"answer": "x"}).status_code == 404
    r = client.post(f"{V}/datasets", headers=other.headers, json={"name": "steal", "video_ids": [str(vids[0])]})
    assert r.status_code == 404


def test_free_plan_is_refused_before_anything_is_looked_up(sq):
    platform, client = sq
    free = new_tenant(platform, client, "Free", tier="free")
    r = client.post(f"{V}/models", headers=free.headers, json={
        "dataset_id": str(uuid.uuid4()), "base_model": "smollm2-135m", "method": "lora", "max_steps": 10})
    assert r.status_code == 402 and r.json()["code"] == "quota.training_not_in_plan", r.text
    pro = new_tenant(platform, client, "Pro", tier="pro")
    r = client.post(f"{V}/models", headers=pro.headers, json={
        "dataset_id": str(uuid.uuid4()), "base_model": "smollm2-135m", "method": "lora", "max_steps": 100_000})
    assert r.status_code == 402 and r.json()["code"] == "quota.training_steps_exceeded"
    r = client.post(f"{V}/models", headers=pro.headers, json={
        "dataset_id": str(uuid.uuid4()), "base_model": "smollm2-135m", "method": "lora", "max_steps": 10})
    assert r.status_code == 404  # within the plan: now the dataset is looked up (and is not there)
    plan = client.get(f"{V}/training/plan", headers=free.headers).json()
    assert plan["allowed"] is False and plan["base_models"][0]["name"] == "smollm2-135m"


def test_glossary_get_put_and_hotwords(sq):
    platform, client = sq
    ctx = new_tenant(platform, client, "Gl", tier="pro")
    vid = seed_talks(platform, ctx.id, TALKS[:1])[0]
    assert client.get(f"{V}/glossary", headers=ctx.headers).json() == {"terms": [], "video_hints": {}}
    body = {"terms": ["Zorblax", "Quintarra Labs", "zorblax"], "video_hints": {str(vid): ["Maria Lopez"]}}
    r = client.put(f"{V}/glossary", headers=ctx.headers, json=body)
    assert r.status_code == 200 and r.json() == {"terms": ["Zorblax", "Quintarra Labs"],
                                                 "video_hints": {str(vid): ["Maria Lopez"]}}
    from clipdex.training import glossary

    with platform.db.tenant(ctx.id, readonly=True) as s:
        assert glossary.hotwords(glossary.terms_for(s, ctx.id, vid)) == "Maria Lopez, Zorblax, Quintarra Labs"
        assert glossary.terms_for(s, ctx.id, uuid.uuid4()) == ["Zorblax", "Quintarra Labs"]
    assert glossary.plan_with_hints("abcdef123456", "Zorblax") != "abcdef123456"
    other = new_tenant(platform, client, "Gl2", tier="pro")
    assert client.get(f"{V}/glossary", headers=other.headers).json()["terms"] == []
    r = client.put(f"{V}/glossary", headers=other.headers, json={"terms": [], "video_hints": {str(vid): ["x"]}})
    assert r.status_code == 404
    assert client.put(f"{V}/glossary", headers=ctx.headers, json={"terms": ["<script>"]}).status_code == 422


def test_drafted_pairs_are_kept_only_when_their_span_supports_them(tmp_path):
    from tests.conftest import api_client, migrated_sqlite_settings, open_platform
    from tests.search.answer_support import ChatServer

    def reply(body: dict):
        excerpt = body["messages"][1]["content"]
        text = ("Q: Who leads the design team?\nA: Maria Lopez" if "Maria Lopez" in excerpt
                else "Q: What is the capital of France?\nA: Paris")  # unsupported: must be dropped
        return 200, {"choices": [{"message": {"role": "assistant", "content": text}}]}

    with ChatServer(reply) as llm, open_platform(migrated_sqlite_settings(
            tmp_path, llm_base_url=llm.base_url, llm_model="stub")) as platform, api_client(platform) as client:
        ctx = new_tenant(platform, client, "Llm", tier="pro")
        vids = seed_talks(platform, ctx.id, TALKS[:2])
        r = client.post(f"{V}/datasets", headers=ctx.headers, json={
            "name": "drafted", "video_ids": [str(v) for v in vids], "draft_with": "openai"})
        assert r.status_code == 202, r.text
        items = _items(client, ctx, r.json()["id"], source="llm")
        assert [(i["question"], i["answer"]) for i in items] == [("Who leads the design team?", "Maria Lopez")]
        assert llm.requests and all("<excerpt>" in q["body"]["messages"][1]["content"] for q in llm.requests)
        r = client.post(f"{V}/datasets", headers=ctx.headers, json={"name": "x", "video_ids": [str(vids[0])],
                                                                     "draft_with": "local"})
        assert r.status_code == 422 and r.json()["code"] == "answer.backend_not_enabled"
