"""Stage ``visual``: one decode pass feeding every visual analyzer.

Frames come from media/frames.py once, at analysis resolution; per frame the shot detector and the
technical cues run, and on sampled frames the keyframe picker, storyboard, faces, on-screen text
and tags. What is kept per frame is a few numbers; images are kept only as one best candidate per
short stretch of video (JPEG bytes), one storyboard tile per interval and one crop per face track;
the stretches of shots that can no longer change keep only the one that can become their keyframe.

Long media: after every ``visual_chunk_s`` seconds of presentation time the whole pass is saved
(pickled, HMAC-sealed: analyzers/checkpoint.py) under a deterministic key in this stage's folder,
``visual-state-{plan}-{k}.bin``; a worker killed mid-video resumes from the newest one, decoding and
discarding the frames it already fed. Models are never part of the state; they reload lazily.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from bisect import bisect_left
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from clipdex.analyzers import checkpoint
from clipdex.analyzers import shots as shotlib
from clipdex.analyzers.faces import LEASE_KEY as _FACE_KEY
from clipdex.analyzers.faces import FaceModels, FaceTracker, cluster
from clipdex.analyzers.lanes import Lanes
from clipdex.analyzers.runtime import models
from clipdex.analyzers.ocr import TextTracker
from clipdex.analyzers.tags import TagTimeline, clip_backend, imagenet_tagger
from clipdex.media.formats import pinned_for
from clipdex.media.frames import FrameSpec, frame_spec, read_frames
from clipdex.compliance.shared import options_doc, picture_outputs, shared_picture
from clipdex.pipeline.artifacts import (BlobOut, Cues, Faces, OnScreenText, PictureMeasurements, Poster, Shots,
                                         Tags, TenantSettings, VisualScenes)
from clipdex.pipeline.stage import Commit, RowWriter, StageResult

# loaded models the trackers hold (FaceTracker._fm, TextTracker._reader): never saved, reloaded lazily
_MODEL_ATTRS = ("_fm", "_reader")


@dataclass
class VisualOptions:
    max_width: int = 640
    faces: bool = True
    ocr: bool = True
    tags: bool = True
    face_period_s: float = 0.5
    ocr_period_s: float = 1.0
    tag_period_s: float = 2.0
    keyframe_step_s: float = 0.2
    bucket_s: float = 2.0
    storyboard_tiles: int = 100
    storyboard_width: int = 160
    storyboard_columns: int = 10
    clip_model_dir: str | None = None
    clip_labels: tuple[str, ...] = ()
    parallel: bool = True  # analyzers on lanes of their own (analyzers/lanes.py); False: all on the decode thread


@dataclass
class _Candidate:
    frame: int
    t: float
    score: float
    jpeg: bytes
    hist: np.ndarray | None
    image: np.ndarray | None = None  # until the candidate's stretch closes


def _jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else b""


def _resize_w(image: np.ndarray, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    if w <= width:
        return image
    return cv2.resize(image, (width, max(2, int(round(h * width / w)))), interpolation=cv2.INTER_AREA)


@dataclass
class VisualPass:
    """All visual analyzers over one stream of frames. ``feed`` each frame, then ``finish``."""

    spec: FrameSpec
    opts: VisualOptions
    duration_s: float
    det: shotlib.ShotDetector = field(init=False)
    timings: dict[str, float] = field(default_factory=dict)
    # compliance's picture measurements, fed every frame of this decode (compliance/shared.py): None when
    # no compliance stage will run
    picture: object | None = None

    def __post_init__(self) -> None:
        fps = self.spec.fps
        self.det = shotlib.ShotDetector(fps)
        self.kf_step = max(1, int(round(fps * self.opts.keyframe_step_s)))
        self.buckets: list[_Candidate] = []
        self._bucket_start = 0
        self._bucket_t = 0.0
        self._bucket_best: _Candidate | None = None
        self.sb_period = max(1.0, self.duration_s / self.opts.storyboard_tiles) if self.duration_s else 1.0
        self.tiles: list[tuple[float, np.ndarray]] = []
        self.faces = FaceTracker() if self.opts.faces else None
        self.text = TextTracker() if self.opts.ocr else None
        self.tagline = TagTimeline(self.opts.tag_period_s) if self.opts.tags else None
        self._tag_batch: list[tuple[float, np.ndarray]] = []
        self._next = {"face": 0.0, "ocr": 0.0, "tag": 0.0, "sb": 0.0}
        self._cut_since = {"face": False}
        self.n = 0
        # how often settled shots give up the stretches that cannot become their keyframe: every 30 s of
        # frames at least, and further apart as the video grows (each look at the detector costs O(frames))
        self.prune_every = max(1, int(round(fps * 30)))
        self._prune_at = self.prune_every

    def __getstate__(self) -> dict:
        self.drain()  # every frame fed so far is in the analyzers' state before it is saved
        state = self.__dict__.copy()
        state.pop("_lanes", None)  # threads: made again when the restored pass is fed
        state.pop("_face_lease", None)
        for name in ("faces", "text"):
            part = state.get(name)
            if part is not None and any(getattr(part, a, None) is not None for a in _MODEL_ATTRS):
                part = copy.copy(part)  # the running tracker keeps its models
                for a in _MODEL_ATTRS:
                    if hasattr(part, a):
                        setattr(part, a, None)
                state[name] = part
        return state

    def _time(self, name: str, start: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def _submit(self, lane: str, fn, *args) -> None:
        lanes = self.__dict__.get("_lanes")
        if lanes is None:
            lanes = self._lanes = Lanes(("faces", "ocr", "tags", "picture"), inline=not self.opts.parallel, depth=4)
        lanes.submit(lane, fn, *args)

    def drain(self) -> None:
        """Wait for the analyzers' lanes to catch up with the frames fed (raises an analyzer's error)."""
        lanes = self.__dict__.get("_lanes")
        if lanes is not None:
            lanes.drain()

    def close(self) -> None:
        """End the lanes and hand the face models back (``finish`` does; a failed run may call it)."""
        lanes = self.__dict__.pop("_lanes", None)
        if lanes is not None:
            lanes.close()
        lease = self.__dict__.pop("_face_lease", None)
        if lease is not None:
            models.release(_FACE_KEY, lease)

    def _face_models(self) -> FaceModels:
        """This pass's detector and recogniser (OpenCV DNN objects are not thread-safe: one user each)."""
        fm = self.__dict__.get("_face_lease")
        if fm is None:
            fm = self._face_lease = models.acquire(_FACE_KEY, FaceModels)
        return fm

    def _feed_faces(self, t: float, image: np.ndarray, cut: bool, feat: np.ndarray) -> None:
        t0 = time.perf_counter()
        self.faces.feed(t, image, cut, self._face_models(), feat)
        self._time("faces", t0)

    def _feed_text(self, t: float, image: np.ndarray, feat: np.ndarray) -> None:
        t0 = time.perf_counter()
        self.text.feed(t, image, feat, self.opts.ocr_period_s)
        self._time("ocr", t0)

    def _feed_picture(self, t: float, image: np.ndarray) -> None:
        t0 = time.perf_counter()
        self.picture.feed(t, image)
        self._time("compliance_picture", t0)

    def feed(self, index: int, t: float, image: np.ndarray) -> None:
        t0 = time.perf_counter()
        feat = shotlib.feature(image)
        self.det.feed(feat, t)
        cut_hint = self.det.last_diff >= self.det.opts.cut_min
        self._time("shots", t0)
        if cut_hint:
            self._cut_since["face"] = True
            self._next["ocr"] = min(self._next["ocr"], t + 0.2)  # read a new shot early, past the cut
        # stretches are measured in presentation time (variable frame rate), half a frame of slack
        if cut_hint or t - self._bucket_t >= self.opts.bucket_s - 0.5 / self.spec.fps:
            self._close_bucket()
            self._bucket_start, self._bucket_t = index, t
        if (index - self._bucket_start) % self.kf_step == 0:
            t0 = time.perf_counter()
            self._candidate(index, t, image, feat)
            self._time("keyframes", t0)
        if t >= self._next["sb"]:
            self.tiles.append((t, _resize_w(image, self.opts.storyboard_width).copy()))
            self._next["sb"] = t + self.sb_period
        if self.picture is not None:
            self._submit("picture", self._feed_picture, t, image)
        if self.faces is not None and t >= self._next["face"]:
            self._submit("faces", self._feed_faces, t, image, self._cut_since["face"], feat)
            self._cut_since["face"] = False
            self._next["face"] = t + self.opts.face_period_s
        if self.text is not None and t >= self._next["ocr"]:
            self._submit("ocr", self._feed_text, t, image, feat)
            self._next["ocr"] = t + self.opts.ocr_period_s
        if self.tagline is not None and t >= self._next["tag"]:
            self._tag_batch.append((t, cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA)))
            self._next["tag"] = t + self.opts.tag_period_s
            if len(self._tag_batch) >= 8:
                self._flush_tags()
        self.n += 1
        if self.n >= self._prune_at:
            self._prune()
            self._prune_at = self.n + max(self.prune_every, self.n // 8)

    def _candidate(self, index: int, t: float, image: np.ndarray, feat: np.ndarray) -> None:
        v = float(feat[..., 2].mean())
        gray = cv2.cvtColor(_resize_w(image, 320), cv2.COLOR_BGR2GRAY)
        sharp = float(cv2.Laplacian(gray, cv2.CV_32F).var())
        contrast = float(gray.std())
        # black or flat frames only win when nothing else exists in their stretch
        score = sharp * (1.0 if v >= self.det.opts.black_v * 2 and contrast > 8 else 1e-3)
        best = self._bucket_best
        if best is None or score > best.score:
            # the picture is kept as decoded (each frame has its own buffer) and encoded once, when its
            # stretch closes: most candidates are beaten by a later one and were encoded for nothing
            self._bucket_best = _Candidate(index, t, score, b"", None, image)

    def _close_bucket(self) -> None:
        best = self._bucket_best
        if best is not None:
            best.jpeg, best.hist, best.image = _jpeg(best.image), shotlib.colour_hist(best.image), None
            self.buckets.append(best)
        self._bucket_best = None

    def _prune(self) -> None:
        """Drop the stretches that ``finish`` can no longer pick as a keyframe.

        ``finish`` picks per shot the best stretch inside it, or, for a shot with none inside, the one
        nearest its middle: always one of the two stretches around it. Shots that ended before the
        detector's settled frame ``p`` are final, so for them only that pick (or those two neighbours)
        must stay; every stretch from ``p`` on, and the last one before it (the left neighbour of a
        later shot), stay too. A subset holding every pick gives ``finish`` the same picks: a best
        stretch is the first maximum, so no other kept one can come before it.
        """
        t0 = time.perf_counter()
        p, bounds = self.det.settled()
        frames = [c.frame for c in self.buckets]
        if p <= 0 or not frames or frames[0] >= p:
            self._time("keyframes", t0)
            return
        edges = [0] + [b.frame for b in bounds if b.frame > 0]
        keep: set[int] = set()
        for a, b in zip(edges, edges[1:]):
            i0, i1 = bisect_left(frames, a), bisect_left(frames, b)
            if i1 > i0:
                keep.add(max(range(i0, i1), key=lambda i: self.buckets[i].score))
            else:
                keep.update(i for i in (i0 - 1, i1) if 0 <= i < len(frames))
        keep.update(range(max(0, bisect_left(frames, p) - 1), len(frames)))
        if len(keep) < len(frames):
            self.buckets = [c for i, c in enumerate(self.buckets) if i in keep]
        self._time("keyframes", t0)

    def _flush_tags(self) -> None:
        if not self._tag_batch:
            return
        batch, self._tag_batch = self._tag_batch, []
        self._submit("tags", self._tag, batch)

    def _tag(self, batch: list[tuple[float, np.ndarray]]) -> None:
        t0 = time.perf_counter()
        images = [im for _, im in batch]
        results = imagenet_tagger().tag(images)
        clip = None
        if self.opts.clip_model_dir and self.opts.clip_labels:
            clip = clip_backend(Path(self.opts.clip_model_dir), self.opts.clip_labels).tag(images)
        for i, (t, _) in enumerate(batch):
            tags = [(tag, c) for tag, c in results[i]] + [(f"clip:{tag}", c) for tag, c in (clip[i] if clip else [])]
            self.tagline.feed(t, tags, "imagenet" if not clip else "imagenet+clip")
        self._time("tags", t0)

    def finish(self) -> dict:
        self._close_bucket()
        if self.tagline is not None:
            self._flush_tags()
        try:
            self.drain()
            if self.faces is not None and self.faces._fm is None and any(tr.crops for tr in self.faces.open):
                self.faces._fm = self._face_models()  # resumed with no face sample since: open tracks still embed
            return self._result()
        finally:
            self.close()

    def _result(self) -> dict:
        fps, n = self.spec.fps, self.n
        at = self.det.time_at
        end_s = at(n)
        shots = self.det.shots()
        keyframes: dict[int, _Candidate] = {}
        for s in shots:
            inside = [c for c in self.buckets if s.start_frame <= c.frame < s.end_frame]
            pool = inside or sorted(self.buckets, key=lambda c: abs(c.frame - (s.start_frame + s.end_frame) // 2))[:1]
            if pool:
                best = max(pool, key=lambda c: c.score)
                keyframes[s.index] = best
                s.keyframe_s, s.keyframe = round(best.t, 3), f"keyframe-{s.index:05d}.jpg"
        hists = [keyframes[s.index].hist if s.index in keyframes else None for s in shots]
        scenes = shotlib.group_scenes(shots, hists)
        fmin = max(1, int(round(fps * 2.0)))
        cues = {
            "black": [{"start_s": round(at(a), 3), "end_s": round(at(b), 3)}
                      for a, b in self.det.black_runs(max(1, int(round(fps * 0.1))))],
            "frozen": [{"start_s": round(at(a), 3), "end_s": round(at(b), 3)}
                       for a, b in self.det.frozen_runs(fmin)],
        }
        return {"frames": n, "fps": fps, "duration_s": round(end_s, 3), "shots": shots, "scenes": scenes,
                "keyframes": keyframes, "cues": cues,
                "text": _clip_spans(self.text.finish(end_s), shots, self.opts.ocr_period_s) if self.text else None,
                "tags": self.tagline.finish(end_s) if self.tagline else None,
                "tracks": self.faces.finish() if self.faces else None}


def _clip_spans(spans: list[dict], shots, period: float) -> list[dict]:
    """A span read last at ``end - period`` ends no later than the shot it was last read in."""
    for sp in spans:
        last = sp["end_s"] - period
        shot = next((s for s in shots if s.start_s <= last < s.end_s), None)
        if shot is not None:
            sp["end_s"] = round(min(sp["end_s"], shot.end_s), 3)
    return spans


def storyboard(tiles: list[tuple[float, np.ndarray]], columns: int, end_s: float) -> tuple[np.ndarray, str]:
    """A sprite sheet and its WebVTT thumbnail track (``storyboard.jpg#xywh=x,y,w,h`` cues)."""
    h, w = tiles[0][1].shape[:2]
    rows = (len(tiles) + columns - 1) // columns
    sheet = np.zeros((rows * h, min(columns, len(tiles)) * w, 3), np.uint8)
    lines = ["WEBVTT", ""]
    for i, (t, img) in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[r * h:r * h + img.shape[0], c * w:c * w + img.shape[1]] = img[:h, :w]
        nxt = tiles[i + 1][0] if i + 1 < len(tiles) else end_s
        lines += [f"{_vtt(t)} --> {_vtt(max(nxt, t + 0.001))}", f"storyboard.jpg#xywh={c * w},{r * h},{w},{h}", ""]
    return sheet, "\n".join(lines)


def _vtt(t: float) -> str:
    ms = int(round(t * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def options_for(ctx) -> VisualOptions:
    st = ctx.settings
    tenant_settings = ctx.input(TenantSettings).values
    labels = tuple(str(x)[:64] for x in tenant_settings.get("visual_labels", [])[:200])
    return VisualOptions(max_width=st.visual_width,
                         faces=st.visual_faces and tenant_settings.get("face_analysis", True),
                         ocr=st.visual_ocr, tags=st.visual_tags,
                         clip_model_dir=str(st.clip_model_dir) if st.clip_model_dir else None,
                         clip_labels=labels or tuple(st.clip_default_labels))


@cache
def _code_fingerprint() -> str:
    """The analyzers' source: a state saved by other code never loads into this one."""
    from clipdex.analyzers import faces, ocr, tags

    h = hashlib.sha256()
    from clipdex.analyzers import lanes
    from clipdex.compliance import flashes, nudity, picture

    for mod in (shotlib, faces, ocr, tags, checkpoint, lanes, picture, flashes, nudity):
        h.update(Path(mod.__file__).read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()


def plan_key(version: str, opts: VisualOptions, spec: FrameSpec, duration_s: float, chunk_s: float,
             picture: dict | None = None) -> str:
    """Everything the saved state depends on: changed settings never resume from an old state."""
    basis = [version, asdict(opts), asdict(spec), round(duration_s, 6), chunk_s, picture, _code_fingerprint()]
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()[:12]


class VisualStage:
    name, version = "visual", "1"
    requires = ("probe",)
    inputs = (TenantSettings,)
    outputs = (Shots, VisualScenes, Cues, OnScreenText, Tags, Faces, Poster.name, "storyboard.jpg", "storyboard.vtt",
               "keyframe-*.jpg", "face-*.jpg", "visual-state-*.bin", PictureMeasurements, "evidence-*.jpg")
    queue = "cpu"

    def run(self, ctx):
        if not ctx.upstream.get("probe", {}).get("has_video"):
            return StageResult.skipped("no video stream")
        opts = options_for(ctx)
        spec = frame_spec(ctx.video.media, opts.max_width)
        duration = float(ctx.upstream["probe"].get("duration_s") or ctx.video.duration_s or 0.0)
        chunk_s = float(ctx.settings.visual_chunk_s)
        # one decode (invariant 3): compliance's picture measures are taken here, not in a second decode
        picture = shared_picture(ctx.settings, spec)
        plan = plan_key(self.version, opts, spec, duration, chunk_s, options_doc(picture.opts) if picture else None)
        saved = checkpoint.Checkpoints(ctx, "visual-state-", plan)
        found = saved.latest(lambda st: isinstance(st, dict) and isinstance(st.get("pass"), VisualPass))
        resumed = found[0] if found else None
        vp: VisualPass = found[1]["pass"] if found else VisualPass(spec, opts, duration, picture=picture)
        chunk = found[1]["chunk"] if found else 0
        started = time.perf_counter()
        try:
            with ctx.source_path() as src:
                for f in read_frames(ctx.settings, src, spec, fmt=pinned_for(ctx.video.media)):
                    if f.index >= vp.n:  # below: fed before the state was saved; decoded only to stay exact
                        c = int(f.t // chunk_s) if f.t > 0 else 0
                        if c > chunk:  # every frame before this one is in the pass: save it as chunk c - 1
                            saved.save(c - 1, {"chunk": c, "pass": vp})
                            chunk = c
                        vp.feed(f.index, f.t, f.image)
                    if f.index % 25 == 0:  # often enough that the bar moves every few seconds at ~10 frames/s
                        ctx.check_alive()
                        if duration:
                            ctx.progress(0.9 * min(1.0, f.t / duration))
            result = vp.finish()
        finally:
            vp.close()  # a failed or cancelled run ends its lanes too
        ctx.check_alive()
        with ctx.scratch_dir() as tmp:
            out = write_outputs(ctx, Path(tmp), vp, result)
        out.output["decode_and_analyze_s"] = round(time.perf_counter() - started, 2)
        out.output["timings_s"] = {k: round(v, 2) for k, v in vp.timings.items()}
        out.output["chunks"] = chunk + 1
        out.output["resumed_from_chunk"] = resumed
        if vp.picture is not None:
            out.artifacts += picture_outputs(vp.picture, spec, ctx.job_id)
            out.output["compliance_picture"] = True
        out.rows.append(saved.on_commit())
        return out


def _put(ctx, tmp: Path, name: str, data: bytes | str, ctype: str, **meta) -> str:
    p = tmp / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return ctx.write_artifact(name, p, ctype, **meta)


def write_outputs(ctx, tmp: Path, vp: VisualPass, r: dict) -> StageResult:
    """Images go to storage now (``_put``); the documents and face rows are the runner's to write."""
    shots, kfs = r["shots"], r["keyframes"]
    for s in shots:
        c = kfs.get(s.index)
        if c is not None:
            _put(ctx, tmp, s.keyframe, c.jpeg, "image/jpeg", shot=s.index, t=c.t)
            small = cv2.imdecode(np.frombuffer(c.jpeg, np.uint8), cv2.IMREAD_COLOR)
            _put(ctx, tmp, s.keyframe.replace(".jpg", "-160.jpg"), _jpeg(_resize_w(small, 160)), "image/jpeg",
                 shot=s.index, t=c.t)
    if kfs:  # poster: the sharpest keyframe among the longer half of the shots
        longer = sorted(shots, key=lambda s: s.end_s - s.start_s, reverse=True)[:max(1, len(shots) // 2)]
        best = max((kfs[s.index] for s in longer if s.index in kfs), key=lambda c: c.score, default=None)
        if best is not None:
            _put(ctx, tmp, "poster.jpg", best.jpeg, "image/jpeg", t=best.t)
    docs = [Shots({"fps": r["fps"], "frames": r["frames"], "shots": [s.as_dict() for s in shots]}),
            VisualScenes({"scenes": r["scenes"]}), Cues(r["cues"])]
    if vp.tiles:
        sheet, vtt = storyboard(vp.tiles, vp.opts.storyboard_columns, r["duration_s"])
        _put(ctx, tmp, "storyboard.jpg", _jpeg(sheet, 80), "image/jpeg", tiles=len(vp.tiles))
        _put(ctx, tmp, "storyboard.vtt", vtt, "text/vtt")
    out = {"frames": r["frames"], "shots": len(shots), "scenes": len(r["scenes"]),
           "black_runs": len(r["cues"]["black"]), "frozen_runs": len(r["cues"]["frozen"])}
    if r["text"] is not None:
        reads = {"ocr_runs": vp.text.ocr_runs, "gated_out": vp.text.gated_out, "deduped": vp.text.deduped,
                 "lines_recognised": vp.text.recognised, "lines_reused": vp.text.reused}
        docs.append(OnScreenText({"spans": r["text"], **reads}))
        out["text_spans"] = len(r["text"])
        out["text_reads"] = reads
    if r["tags"] is not None:
        docs.append(Tags({"tags": r["tags"]}))
        out["tags"] = len(r["tags"])
    if r["tracks"] is not None:
        ft = vp.faces
        out["face_work"] = {"detected_frames": ft.detected_frames, "skipped_frames": ft.skipped_frames,
                            "embedded": ft.embedded}
        counts, write = _faces(ctx, r["tracks"])
        out.update(counts)
        return StageResult(output=out, artifacts=docs, rows=[write])
    return StageResult(output=out, artifacts=docs)


def _faces(ctx, tracks) -> tuple[dict, RowWriter]:
    """Face crops, the face rows and faces.json, written by the runner in the stage's commit: the
    gallery assigns person ids there, and a tenant that switched face analysis off meanwhile (and
    maybe purged its people) gets nothing written at all."""
    from clipdex.people.service import NewFace

    tracks = [tr for tr in tracks if tr.embeddings]
    labels = cluster([tr.embedding for tr in tracks])
    faces, crops = [], []
    for tr, label in zip(tracks, labels):
        key = None
        if tr.best_crop is not None:
            name = f"face-{tr.id:05d}.jpg"
            key = ctx.artifact_key(name)
            crops.append(BlobOut(name, _jpeg(tr.best_crop, 90), "image/jpeg", {"track": tr.id}))
        faces.append(NewFace(label, tr.id, round(tr.start_s, 3), round(tr.end_s, 3), list(tr.best_box or tr.box),
                             tr.samples, tr.embedding, tr.best_score, key))
    return {"face_tracks": len(faces)}, store_faces(faces, crops)


def store_faces(faces: list, crops: list[BlobOut]) -> RowWriter:
    def write(c: Commit) -> None:
        from clipdex.models import Tenant
        from clipdex.people.service import replace_video_faces

        if not (c.session.get(Tenant, c.tenant_id).settings or {}).get("face_analysis", True):
            c.output.update(face_tracks=0, faces_skipped="face analysis switched off during the run")
            return
        for crop in crops:
            c.save(crop)
        res = replace_video_faces(c.session, c.tenant_id, c.video_id, faces)
        persons = res.pop("person_of_cluster")
        doc = [{"track": f.track, "person_id": persons.get(str(f.cluster)), "start_s": f.start_s, "end_s": f.end_s,
                "box": f.box, "thumbnail": f"face-{f.track:05d}.jpg" if f.thumb_key else None} for f in faces]
        c.save(Faces({"tracks": doc}))
        c.output.update(res)

    return write


STAGE = VisualStage()
