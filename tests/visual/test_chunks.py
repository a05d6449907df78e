"""Long media: the visual pass saved after every chunk, resumed after a kill, and exact either way.

The clip (16 s, 640x360, 25 fps) puts something open across each 5 s chunk edge: a face track and a
caption across 5 s, a caption across 10 s, a fade to black across 15 s.
"""

from __future__ import annotations

import json
import logging
import pickle
import subprocess
import threading
import time
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from sqlalchemy import select

from clipdex.analyzers import checkpoint
from clipdex.analyzers.shots import ShotDetector, feature
from clipdex.analyzers.visual import VisualOptions, VisualPass
from clipdex.media.frames import Frame, FrameSpec, probe_spec, read_frames
from clipdex.models import Artifact, JobStage
from clipdex.storage import keys
from tests.conftest import (MODEL_STAGES, api_client, drain, make_settings, migrated_sqlite_settings, new_tenant,
                            open_platform, upload)
from tests.media import FFMPEG
from tests.visual.media import FONT

RATE, FRAMES, CHUNK_S = 25, 400, 5.0
KILL_AT_S = 12.5  # mid-chunk 2: chunk 1's state (saved when the first frame at 10 s came) is the newest
DOCS = ("shots.json", "scenes.json", "cues.json", "text.json", "tags.json", "faces.json")


def make_chunk_clip(path: Path) -> Path:
    face = path.parent / "face.png"
    cv2.imwrite(str(face), skimage.data.astronaut()[..., ::-1])
    size = "640x360"

    def caption(text: str, y: str) -> str:
        return (f"drawtext=fontfile={FONT}:text='{text}':fontsize=34:fontcolor=white:box=1:boxcolor=black@0.6:"
                f"x=(w-tw)/2:y={y}")

    graph = (f"[0:v]{caption('CHAPTER ONE', '30')}[a];"
             f"[1:v]scale=-2:360,pad=640:360:(ow-iw)/2:0,fps={RATE},{caption('MEET THE TEAM', '300')},"
             "format=yuv420p[b];"
             f"[2:v]{caption('CLIPDEX 2026', '(h-th)/2')}[c];"
             "[3:v]fade=t=out:st=2.0:d=0.6[d];"
             "[a][b][c][d]concat=n=4:v=1:a=0,format=yuv420p[v]")
    subprocess.run([FFMPEG, "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={RATE}:duration=4",
                    "-loop", "1", "-t", "5", "-i", str(face),
                    "-f", "lavfi", "-i", f"color=c=0x203050:size={size}:rate={RATE}:duration=4",
                    "-f", "lavfi", "-i", f"smptebars=size={size}:rate={RATE}:duration=3",
                    "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
                    str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def chunk_clip(tmp_path_factory):
    return make_chunk_clip(tmp_path_factory.mktemp("chunks") / "chunks.mp4")


@pytest.fixture(scope="module")
def media_settings(tmp_path_factory):
    return make_settings(tmp_path_factory.mktemp("frames"))


@pytest.fixture(scope="module")
def clip_frames(chunk_clip, media_settings):
    spec = probe_spec(media_settings, chunk_clip, 640)
    return spec, list(read_frames(media_settings, chunk_clip, spec))


@pytest.fixture(scope="module")
def shots_frames(shots_video, media_settings):
    spec = probe_spec(media_settings, shots_video, 320)
    return spec, list(read_frames(media_settings, shots_video, spec))


# --- the pieces, without models ------------------------------------------------------------------------


def test_sealed_state_verifies_before_it_loads():
    state = {"chunk": 3, "pass": [1.5, b"jpeg"]}
    blob = checkpoint.seal("s" * 40, "tenant/video/visual/1/plan/2", state)
    assert checkpoint.unseal("s" * 40, "tenant/video/visual/1/plan/2", blob) == state
    flipped = bytearray(blob)
    flipped[-3] ^= 0x01
    assert checkpoint.unseal("s" * 40, "tenant/video/visual/1/plan/2", bytes(flipped)) is None
    assert checkpoint.unseal("s" * 40, "tenant/video/visual/1/plan/1", blob) is None  # another chunk's key
    assert checkpoint.unseal("x" * 40, "tenant/video/visual/1/plan/2", blob) is None  # another deployment
    assert checkpoint.unseal("s" * 40, "tenant/video/visual/1/plan/2", blob[:20]) is None
    # a payload that would run code when unpickled never reaches pickle without the secret's MAC
    evil = checkpoint.MAGIC + b"\0" * 32 + pickle.dumps(Exploding())
    assert checkpoint.unseal("s" * 40, "tenant/video/visual/1/plan/2", evil) is None


class Exploding:
    def __reduce__(self):
        return (_explode, ())


def _explode():
    raise AssertionError("unpickled without a valid MAC")


def _feed_all(spec, frames, *, prune_every: int, save_at: tuple[int, ...] = ()) -> tuple[VisualPass, dict, int]:
    vp = VisualPass(spec, VisualOptions(faces=False, ocr=False, tags=False), FRAMES / RATE)
    vp.prune_every = vp._prune_at = prune_every
    for f in frames:
        if f.index in save_at:  # what a resumed worker gets back
            vp = pickle.loads(pickle.dumps(vp))
        vp.feed(f.index, f.t, f.image)
    kept = len(vp.buckets)
    return vp, vp.finish(), kept


def _picks(r: dict) -> tuple:
    return ([s.as_dict() for s in r["shots"]], r["scenes"], r["cues"],
            {i: (c.frame, c.t, c.score, c.jpeg, c.hist.tobytes()) for i, c in r["keyframes"].items()})


@pytest.mark.parametrize("which", ["chunks", "shots"])
def test_pruned_stretches_and_saved_states_pick_the_same_keyframes(which, clip_frames, shots_frames):
    spec, frames = clip_frames if which == "chunks" else shots_frames  # shots: cuts, a flash, fades out and in
    _, whole, all_kept = _feed_all(spec, frames, prune_every=10 ** 9)
    _, pruned, few_kept = _feed_all(spec, frames, prune_every=7, save_at=(37, 101, 150, 251))
    assert few_kept < all_kept  # stretches of settled shots were dropped ...
    assert _picks(pruned) == _picks(whole)  # ... and none that finish picks


def test_settled_boundaries_never_change(clip_frames, shots_frames):
    """At every prefix of two clips, what the detector calls settled is what the whole clip gives."""
    for spec, frames in (clip_frames, shots_frames):
        reached = _assert_settled_is_final(spec.fps, [(feature(f.image), f.t) for f in frames])
        assert len(reached) >= 3, reached  # shots did settle as the clip went on


def _assert_settled_is_final(fps: float, feats: list) -> set[int]:
    whole = ShotDetector(fps)
    for feat, t in feats:
        whole.feed(feat, t)
    final = [(b.frame, b.kind) for b in whole.boundaries()]
    det, reached = ShotDetector(fps), set()
    for feat, t in feats:
        det.feed(feat, t)
        p, bounds = det.settled()
        assert [(b.frame, b.kind) for b in bounds] == [b for b in final if b[0] <= p], det.n
        reached.add(p)
    return reached


def synthetic_edit(seed: int, segments: int = 14) -> list[np.ndarray]:
    """Random edits at 96x54: stills, moving noise, black runs, cross-fades, flashes, shots of a few frames
    (short shots with no stretch of their own take the keyframe of a neighbour: the case pruning must keep)."""
    rng = np.random.default_rng(seed)

    def picture() -> np.ndarray:
        noise = rng.integers(0, 256, (54, 96, 3)) * rng.choice([0.0, 0.3, 1.0])
        return np.clip(rng.integers(0, 256, 3) * 0.7 + noise * 0.3, 0, 255).astype(np.uint8)

    out, prev = [], picture()
    for _ in range(segments):
        kind, length, cur = rng.choice(["still", "moving", "black", "dissolve", "flash", "short"]), \
            int(rng.integers(1, 40)), picture()
        for j in range(min(length, 3) if kind == "short" else length):
            if kind == "moving":
                img = np.roll(cur, j * 3, axis=1)
            elif kind == "black":
                img = np.zeros_like(cur) + rng.integers(0, 6)
            elif kind == "dissolve":
                img = prev * (1 - (j + 1) / (length + 1)) + cur * ((j + 1) / (length + 1))
            elif kind == "flash":
                img = np.full_like(cur, 255) if j == length // 2 else prev
            else:
                img = cur
            out.append(np.ascontiguousarray(img, dtype=np.uint8))
        prev = out[-1] if out else prev
    return out


SEEDS = range(30, 50)  # among them edits where a dropped neighbour or a dropped last stretch changes a pick


def test_pruning_keeps_every_pick_on_random_edits():
    spec = FrameSpec(96, 54, 25.0)
    dropped = 0
    for seed in SEEDS:
        frames = [Frame(i, i / 25, im) for i, im in enumerate(synthetic_edit(seed))]
        _, whole, all_kept = _feed_all(spec, frames, prune_every=10 ** 9)
        _, pruned, few_kept = _feed_all(spec, frames, prune_every=5)
        assert _picks(pruned) == _picks(whole), seed
        dropped += all_kept - few_kept
    assert dropped > 100


def test_settled_boundaries_never_change_on_random_edits():
    for seed in SEEDS:
        _assert_settled_is_final(25.0, [(feature(im), i / 25) for i, im in enumerate(synthetic_edit(seed))])


# --- the stage, through the job runner -----------------------------------------------------------------


class SimulatedKill(Exception):
    """The worker dies here: nothing of its pass survives (the next attempt builds a new one)."""


class FeedLog:
    """Counts what each attempt feeds; kills the first attempt at ``kill_at_s`` (after ``before_kill``)."""

    def __init__(self, kill_at_s: float | None = None, before_kill=None) -> None:
        self.kill_at_s, self.before_kill = kill_at_s, before_kill
        self.attempts: list[list[int]] = []
        self._pass = None

    def install(self, monkeypatch) -> None:
        real = VisualPass.feed

        def feed(vp, index, t, image):
            if vp is not self._pass:
                self._pass = vp
                self.attempts.append([])
            if self.kill_at_s is not None and t >= self.kill_at_s:
                self.kill_at_s = None
                if self.before_kill:
                    self.before_kill()
                raise SimulatedKill
            self.attempts[-1].append(index)
            real(vp, index, t, image)

        monkeypatch.setattr(VisualPass, "feed", feed)


@pytest.fixture(scope="module")
def chunk_platform(tmp_path_factory):
    settings = migrated_sqlite_settings(tmp_path_factory.mktemp("chunkp"),
                                        disabled_stages=[s for s in MODEL_STAGES if s != "visual"])
    with open_platform(settings) as p, api_client(p) as c:
        yield p, c


def _run(chunk_platform, clip: Path, chunk_s: float, log: FeedLog, monkeypatch, name: str) -> dict:
    p, client = chunk_platform
    monkeypatch.setattr(p.settings, "visual_chunk_s", chunk_s)
    log.install(monkeypatch)
    tenant = new_tenant(p, client, name)  # a tenant each: every run starts with an empty face gallery
    vid = uuid.UUID(upload(client, tenant, clip).json()["id"])
    status = None
    for _ in range(40):  # a killed attempt is retried after retry_base_s
        drain(p)
        with p.db.tenant(tenant.id) as s:
            st = s.scalar(select(JobStage).where(JobStage.name == "visual"))
            status, output, attempt = st.status, st.output, st.attempt
        if status in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert status == "succeeded", (status, output)
    with p.db.tenant(tenant.id) as s:
        arts = {a.name: a.blob_key for a in s.scalars(select(Artifact).where(Artifact.video_id == vid,
                                                                             Artifact.stage == "visual"))}
    docs = {}
    for name in DOCS:
        with p.blobs.open(arts[name]) as f:
            docs[name] = json.load(f)
    for t in docs["faces.json"]["tracks"]:
        t.pop("person_id")  # the tenant's gallery ids
    images = {}
    for name in sorted(arts):
        if name.endswith(".jpg") or name.endswith(".vtt"):
            with p.blobs.open(arts[name]) as f:
                images[name] = f.read()
    folder = keys.artifact(tenant.id, vid, "visual", "1", "x")[:-1]
    left = [k for k in p.blobs.list_prefix(folder) if "/visual-state-" in k]
    return {"output": output, "attempt": attempt, "docs": docs, "images": images, "left": left,
            "tenant": tenant.id, "video": vid}


@pytest.fixture(scope="module")
def unchunked(chunk_platform, chunk_clip):
    with pytest.MonkeyPatch.context() as mp:
        return _run(chunk_platform, chunk_clip, 1000.0, FeedLog(), mp, "Whole")


def _states(p) -> list[str]:
    """Saved visual states anywhere (each run is a new tenant; the earlier runs cleared theirs)."""
    return [k for k in p.blobs.list_prefix("tenants") if "/visual/1/visual-state-" in k]


def _assert_same_result(run: dict, ref: dict) -> None:
    assert run["docs"] == ref["docs"]
    assert run["images"] == ref["images"]  # keyframes (same frames chosen), poster, storyboard, face crops
    for key in ("frames", "shots", "scenes", "text_spans", "tags", "face_tracks", "black_runs", "frozen_runs"):
        assert run["output"][key] == ref["output"][key], key


@pytest.mark.slow
def test_chunked_run_equals_the_unchunked_one(chunk_platform, chunk_clip, unchunked, monkeypatch):
    ref = unchunked
    assert ref["output"]["chunks"] == 1 and ref["output"]["resumed_from_chunk"] is None
    # the clip is worth comparing: a face track and captions across the 5 s edges, a fade at the end
    docs = ref["docs"]
    assert len(docs["faces.json"]["tracks"]) == 1 and len(docs["shots.json"]["shots"]) >= 4
    texts = {sp["text"] for sp in docs["text.json"]["spans"]}
    assert {"CHAPTER ONE", "MEET THE TEAM", "CLIPDEX 2026"} <= texts, texts
    assert docs["cues.json"]["black"]

    log = FeedLog()
    run = _run(chunk_platform, chunk_clip, CHUNK_S, log, monkeypatch, "Chunked")
    assert run["output"]["chunks"] == 4 and run["output"]["resumed_from_chunk"] is None
    assert log.attempts == [list(range(FRAMES))]
    assert run["left"] == []  # the saved states go when the stage commits
    _assert_same_result(run, ref)


@pytest.mark.slow
def test_killed_mid_chunk_resumes_from_the_last_saved_chunk(chunk_platform, chunk_clip, unchunked, monkeypatch):
    p, _ = chunk_platform
    saved: list[list[str]] = []

    def look() -> None:  # just before the kill: chunk 1's state, and only the newest one
        saved.append([k.rsplit("/", 1)[1] for k in _states(p)])

    log = FeedLog(kill_at_s=KILL_AT_S, before_kill=look)
    run = _run(chunk_platform, chunk_clip, CHUNK_S, log, monkeypatch, "Killed")
    assert len(saved[0]) == 1 and saved[0][0].endswith("-00001.bin"), saved
    first, second = log.attempts
    resumed_at = int(10.0 * RATE)  # the first frame at or after 10 s: everything before is in chunk 1's state
    assert first == [i for i in range(FRAMES) if i / RATE < KILL_AT_S]
    assert second == list(range(resumed_at, FRAMES))  # only the unsaved part of chunk 2 is fed again
    assert run["attempt"] == 2 and run["output"]["resumed_from_chunk"] == 1 and run["output"]["chunks"] == 4
    assert run["left"] == []
    _assert_same_result(run, unchunked)


@pytest.mark.slow
def test_a_tampered_state_is_ignored(chunk_platform, chunk_clip, unchunked, monkeypatch, caplog):
    p, _ = chunk_platform

    def tamper() -> None:
        [key] = _states(p)
        path = p.blobs.absolute(key)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))

    log = FeedLog(kill_at_s=KILL_AT_S, before_kill=tamper)
    with caplog.at_level(logging.WARNING, logger="clipdex.checkpoint"):
        run = _run(chunk_platform, chunk_clip, CHUNK_S, log, monkeypatch, "Tampered")
    assert "MAC does not verify" in caplog.text
    assert run["output"]["resumed_from_chunk"] is None and log.attempts[1] == list(range(FRAMES))
    assert run["left"] == []
    _assert_same_result(run, unchunked)


@pytest.mark.slow
def test_a_pass_restored_mid_face_and_mid_caption_ends_the_same(clip_frames, unchunked):
    """Saved and restored at 5.48 s (a face track, a caption and a tag batch open) and at 10.48 s, the
    pass ends as the unsplit stage did: the trackers' models are not saved and come back on their own."""
    spec, frames = clip_frames
    vp = VisualPass(spec, VisualOptions(), FRAMES / RATE)
    for f in frames:
        if f.index in (137, 262):
            vp.drain()  # the analyzers' lanes have caught up with the frames fed
            assert vp.text.open and vp._tag_batch and (vp.faces.open or f.index == 262)
            old, vp = vp, pickle.loads(pickle.dumps(vp))
            old.close()
            assert vp.faces._fm is None and vp.text._reader is None
        vp.feed(f.index, f.t, f.image)
    r = vp.finish()
    docs = unchunked["docs"]
    assert [s.as_dict() for s in r["shots"]] == docs["shots.json"]["shots"]
    assert r["scenes"] == docs["scenes.json"]["scenes"] and r["cues"] == docs["cues.json"]
    assert r["text"] == docs["text.json"]["spans"] and r["tags"] == docs["tags.json"]["tags"]
    tracks = [{"start_s": round(t.start_s, 3), "end_s": round(t.end_s, 3), "box": list(t.best_box or t.box)}
              for t in r["tracks"] if t.embeddings]
    assert tracks == [{k: t[k] for k in ("start_s", "end_s", "box")} for t in docs["faces.json"]["tracks"]]


def _result_docs(r: dict) -> dict:
    return {"shots": [s.as_dict() for s in r["shots"]], "scenes": r["scenes"], "cues": r["cues"], "text": r["text"],
            "tags": r["tags"], "keyframes": _picks(r),
            "tracks": [(round(t.start_s, 3), round(t.end_s, 3), list(t.best_box or t.box),
                        [e.round(5).tolist() for e in t.embeddings]) for t in r["tracks"]]}


@pytest.mark.slow
def test_analyzers_on_lanes_give_what_they_gave_on_the_decode_thread(clip_frames):
    """Faces, on-screen text and tags run on lanes of their own beside the decode (issue 16); each keeps
    its frame order, so the result is the one the single-threaded pass gives."""
    spec, frames = clip_frames
    out, mine = {}, []
    before = set(threading.enumerate())
    for parallel in (False, True):
        vp = VisualPass(spec, VisualOptions(parallel=parallel), FRAMES / RATE)
        for f in frames:
            vp.feed(f.index, f.t, f.image)
        if parallel:
            mine = [t for t in threading.enumerate() if t not in before and t.name.startswith("lane-")]
        out[parallel] = _result_docs(vp.finish())
    assert out[True] == out[False] and out[True]["text"] and out[True]["tracks"] and out[True]["tags"]
    assert {"lane-faces", "lane-ocr", "lane-tags"} <= {t.name for t in mine}
    assert not any(t.is_alive() for t in mine)  # finish() ended them
