"""Scenes from shots plus speech: no scene change mid-sentence, scene changes at pauses."""

from __future__ import annotations

import json
import uuid

from clipdex.analyzers.scenes import ScenesStage, regroup
from clipdex.pipeline.artifacts import Scenes, Shots, Transcript, VisualScenes
from clipdex.pipeline.stage import StageContext


def _shots(*edges: float) -> list[dict]:
    return [{"index": i, "start_s": a, "end_s": b, "start_frame": int(a * 25), "end_frame": int(b * 25),
             "keyframe": f"keyframe-{i:05d}.jpg", "scene": 0} for i, (a, b) in enumerate(zip(edges, edges[1:]))]


def _scenes(*groups: list[int]) -> list[dict]:
    return [{"index": i, "shots": g} for i, g in enumerate(groups)]


def _words(start: float, end: float, step: float = 0.3, last: str = "word") -> list[dict]:
    out, t = [], start
    while t + step <= end + 1e-9:
        out.append({"word": "word", "start": round(t, 3), "end": round(t + step - 0.05, 3)})
        t += step
    out[-1]["word"] = last
    return out


def test_boundary_mid_sentence_moves_to_a_pause_or_merges():
    shots = _shots(0, 2, 4, 6, 8, 10, 12)
    visual = _scenes([0, 1], [2, 3], [4, 5])  # colour says: scene changes at 4 s and 8 s
    # one sentence runs across the 4 s cut and ends at 5.5 s; silence until 6.8 s; then talk
    # continuously from 6.8 s to 10.6 s, across the 8 s and 10 s cuts
    words = _words(3.0, 5.5, last="there.") + _words(6.8, 10.6)
    scenes = regroup(shots, visual, words)
    assert [sc["shots"] for sc in scenes] == [[0, 1, 2], [3, 4, 5]]
    assert scenes[1]["start_s"] == 6 and scenes[1]["index"] == 1 and scenes[1]["keyframe"] == "keyframe-00003.jpg"
    assert set(scenes[0]) == {"index", "start_s", "end_s", "start_frame", "end_frame", "shots", "keyframe"}


def test_boundary_at_a_sentence_end_is_kept_and_long_silence_splits():
    shots = _shots(0, 2, 4, 6, 8)
    # a cut right after a sentence ends (0.3 s gap) stays a scene boundary
    words = _words(0.5, 3.9, last="done.") + _words(4.2, 5.0)
    assert [sc["shots"] for sc in regroup(shots, _scenes([0, 1], [2, 3]), words)] == [[0, 1], [2, 3]]
    # colour sees one scene; the talk stops for 5 s across the 2 s cut and starts again: two scenes
    words = _words(0.2, 1.5) + _words(6.5, 7.5)
    assert [sc["shots"] for sc in regroup(shots, _scenes([0, 1, 2, 3]), words)] == [[0], [1, 2, 3]]
    # without speech the visual grouping stands
    assert [sc["shots"] for sc in regroup(shots, _scenes([0], [1, 2], [3]), [])] == [[0], [1, 2], [3]]


def test_stage_reads_the_transcript_artifact():
    shots = _shots(0, 2, 4, 6)
    inputs = {Shots: Shots({"fps": 25, "frames": 150, "shots": shots}),
              VisualScenes: VisualScenes({"scenes": _scenes([0], [1, 2])}),
              Transcript: Transcript({"segments": [{"words": _words(1.0, 5.8)}]})}
    ctx = StageContext(platform=None, video=None, job_id=uuid.uuid4(), stage_name="scenes", stage_version="1",
                       attempt=1, upstream={"visual": {"shots": 3}}, report_progress=lambda f: None,
                       check_alive=lambda: None, loaded=inputs)
    out = ScenesStage().run(ctx)
    # the 2 s cut falls inside continuous speech and no pause is near: one scene
    assert out.output == {"scenes": 1, "visual_scenes": 2, "speech_words": 16}
    [doc] = out.artifacts
    assert isinstance(doc, Scenes) and [sc["shots"] for sc in doc.doc["scenes"]] == [[0, 1, 2]]
    inputs[Transcript] = None  # no transcript: the visual scenes stand
    assert ScenesStage().run(ctx).output["scenes"] == 2


def test_api_prefers_the_speech_aware_scenes(client, platform, tenant_a, tmp_path):
    from clipdex.models import Artifact
    from clipdex.storage import keys
    from tests.conftest import upload
    from tests.media import make_video

    h = tenant_a.headers
    vid = uuid.UUID(upload(client, tenant_a, make_video(tmp_path / "c.mp4", seconds=1)).json()["id"])
    shots = _shots(0, 2, 4)
    shots[1]["scene"] = 1
    docs = {("visual", "shots.json"): {"fps": 25, "frames": 100, "shots": shots},
            ("visual", "scenes.json"): {"scenes": regroup(shots, _scenes([0], [1]), [])}}
    with platform.db.tenant(tenant_a.id) as s:
        for (stage, name), doc in docs.items():
            key = keys.artifact(tenant_a.id, vid, stage, "1", name)
            size = platform.blobs.put_bytes(key, json.dumps(doc).encode())
            s.add(Artifact(tenant_id=tenant_a.id, video_id=vid, stage=stage, version="1", name=name, blob_key=key,
                           content_type="application/json", size_bytes=size, meta={}))
    assert len(client.get(f"/api/v1/videos/{vid}/scenes", headers=h).json()["scenes"]) == 2  # visual only
    merged = {"scenes": regroup(shots, _scenes([0], [1]), _words(0.5, 3.5))}
    with platform.db.tenant(tenant_a.id) as s:
        key = keys.artifact(tenant_a.id, vid, "scenes", "1", "scenes.json")
        size = platform.blobs.put_bytes(key, json.dumps(merged).encode())
        s.add(Artifact(tenant_id=tenant_a.id, video_id=vid, stage="scenes", version="1", name="scenes.json",
                       blob_key=key, content_type="application/json", size_bytes=size, meta={}))
    scenes = client.get(f"/api/v1/videos/{vid}/scenes", headers=h).json()["scenes"]
    assert [sc["shots"] for sc in scenes] == [[0, 1]]
    assert [s["scene"] for s in client.get(f"/api/v1/videos/{vid}/shots", headers=h).json()["shots"]] == [0, 0]
