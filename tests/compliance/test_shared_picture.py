"""Compliance's picture numbers measured on the visual stage's frames (one decode) agree with its own
decode, and the compliance stage decodes the video only when there is nothing of this job to reuse.

Until the real visual stage feeds the shared pass, a stand-in ``visual`` stage does exactly what it is
asked to do (compliance/shared.py: ``shared_picture``, ``feed`` every frame, ``picture_outputs``) and
runs through the real job runner; ``test_real_visual_stage_shares_its_decode`` checks the real one.
"""

from __future__ import annotations

import pickle
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from clipdex.analyzers import compliance as stage_module
from clipdex.compliance import picture as picture_module
from clipdex.compliance import shared
from clipdex.compliance.evaluate import evaluate
from clipdex.compliance.policies import preset
from clipdex.media.formats import pinned_for
from clipdex.media.frames import frame_spec, read_frames
from clipdex.models import Artifact, JobStage
from clipdex.pipeline import registry
from clipdex.pipeline.artifacts import Measurements, PictureMeasurements
from clipdex.pipeline.stage import StageResult
from tests.compliance.media import RATE
from tests.conftest import drain, upload
from tests.media import FFMPEG

ENABLED_STAGES = ("visual",)  # the visual stage feeds compliance's picture pass (tests/compliance/conftest.py)

# talk.mp4, 640x360 (wider than compliance_width, so the two decodes differ in size): 0-1 s pattern,
# 1-3.5 s black, 3.5-5.5 s full-screen 5 Hz flashing, 5.5-7 s letterboxed still bars (12.5 % each)
BLACK, FLASH, BOXED = (1.0, 3.5), (3.5, 5.5), (5.5, 7.0)


def _talk(path: Path) -> Path:
    size = "640x360"
    lum = "if(lt(mod(N\\,5)\\,2)\\,255\\,0)"  # 2 frames white, 3 black: 5 flashes a second
    parts = [f"testsrc2=size={size}:rate={RATE}:duration={BLACK[0]}",
             f"color=c=black:size={size}:rate={RATE}:duration={BLACK[1] - BLACK[0]}",
             f"color=c=black:size={size}:rate={RATE}:duration={FLASH[1] - FLASH[0]},format=gray,geq=lum='{lum}'",
             f"smptebars=size=640x270:rate={RATE}:duration={BOXED[1] - BOXED[0]},pad=640:360:0:45:black"]
    args = []
    for p in parts:
        args += ["-f", "lavfi", "-i", p]
    args += ["-f", "lavfi", "-i", f"sine=f=1000:r=48000:d={BOXED[1]}"]
    fc = "".join(f"[{i}:v]format=yuv420p,setsar=1,setpts=PTS-STARTPTS[v{i}];" for i in range(4)) + \
        "[v0][v1][v2][v3]concat=n=4:v=1:a=0[v]"
    subprocess.run([FFMPEG, "-v", "error", "-y", *args, "-filter_complex", fc, "-map", "[v]", "-map", "4:a",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def talk(tmp_path_factory):
    return _talk(tmp_path_factory.mktemp("shared-picture") / "talk.mp4")


class FeedingVisual:
    """What the visual stage does for compliance, and nothing else: its frames feed the shared pass."""

    name, version = "visual", "1"
    requires = ("probe",)
    outputs = (PictureMeasurements, "evidence-*.jpg")
    queue = "cpu"
    nudity_period_s: float | None = None  # set: a visual worker configured unlike the compliance worker

    def run(self, ctx):
        spec = frame_spec(ctx.video.media, ctx.settings.visual_width)
        pp = shared.shared_picture(ctx.settings, spec)
        if pp is None:
            return StageResult(output={"picture": None})
        if self.nudity_period_s is not None:
            pp.opts.nudity_period_s = self.nudity_period_s
        with ctx.source_path() as src:
            for f in read_frames(ctx.settings, src, spec, fmt=pinned_for(ctx.video.media)):
                pp.feed(f.t, f.image)
        return StageResult(output={"picture": len(pp.t)}, artifacts=shared.picture_outputs(pp, spec, ctx.job_id))


@pytest.fixture
def visual(monkeypatch):
    registry.all_stages()  # discovered first, so the stand-in is not replaced by the entry point later
    stand_in = FeedingVisual()
    monkeypatch.setitem(registry._STAGES, "visual", stand_in)
    return stand_in


@pytest.fixture
def decodes(monkeypatch):
    """How often the compliance stage decoded the video itself."""
    calls = []
    real = stage_module.read_frames

    def counting(*a, **kw):
        calls.append(a[2])
        return real(*a, **kw)

    monkeypatch.setattr(stage_module, "read_frames", counting)
    return calls


def _process(platform, client, tenant, path: Path, copy: int = 0) -> uuid.UUID:
    """``path`` uploaded (its ``copy``-th remux: the same frames in other bytes, as uploads are unique)."""
    if copy:
        dst = path.with_name(f"{path.stem}-{copy}-{uuid.uuid4().hex[:6]}.mp4")
        subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(path), "-c", "copy", "-metadata", f"title=copy {copy}",
                        str(dst)], check=True)
        path = dst
    r = upload(client, tenant, path)
    assert r.status_code == 201, r.text
    drain(platform)
    return uuid.UUID(r.json()["id"])


def _stage_output(platform, tenant, name: str) -> dict:
    with platform.db.tenant(tenant.id) as s:
        return s.scalars(select(JobStage.output).where(JobStage.name == name)
                         .order_by(JobStage.finished_at.desc())).first()


def _measurements(platform, tenant, vid) -> dict:
    with platform.db.tenant(tenant.id, readonly=True) as s:
        return Measurements.doc_of(platform, s, vid)


def _blobs(platform, tenant, vid, stage: str) -> dict[str, bytes]:
    with platform.db.tenant(tenant.id, readonly=True) as s:
        rows = s.execute(select(Artifact.name, Artifact.blob_key).where(
            Artifact.video_id == vid, Artifact.stage == stage, Artifact.name.like("evidence-%"))).all()
    out = {}
    for name, key in rows:
        with platform.blobs.open(key) as f:
            out[name] = f.read()
    return out


def _findings(m: dict, check: str) -> list[dict]:
    policy = preset("broadcast-eu")
    policy["rules"]["letterbox"].update(enabled=True, min_share_of_video=0.1)
    return [f for f in evaluate(m, policy)["findings"] if f["check"] == check]


def test_shared_measurements_give_the_own_decodes_verdicts(cplatform, cclient, ctenant, talk, visual, decodes,
                                                          monkeypatch):
    # every nudity sample keeps a thumbnail, so the evidence hand-over is exercised on harmless media
    monkeypatch.setattr(picture_module, "EVIDENCE_FLOOR", 0.0)
    cplatform.settings.disabled_stages = [*cplatform.settings.disabled_stages, "visual"]
    own_id = _process(cplatform, cclient, ctenant, talk)
    assert len(decodes) == 1 and (decodes[0].width, decodes[0].height) == (320, 180)
    assert _stage_output(cplatform, ctenant, "compliance")["picture_shared"] is False

    cplatform.settings.disabled_stages = [s for s in cplatform.settings.disabled_stages if s != "visual"]
    shared_id = _process(cplatform, cclient, ctenant, talk, copy=1)
    assert len(decodes) == 1, "the compliance stage decoded although the visual stage measured the picture"
    out = _stage_output(cplatform, ctenant, "compliance")
    assert out["picture_shared"] is True and _stage_output(cplatform, ctenant, "visual")["picture"] >= 170

    own, mine = (_measurements(cplatform, ctenant, v)["picture"] for v in (own_id, shared_id))
    assert set(own) == set(mine) and own["size"] == mine["size"] == [320, 180]
    assert own["t"] == mine["t"] and own["frames"] == mine["frames"] >= 170
    assert np.abs(np.subtract(own["black_ratio"], mine["black_ratio"])).max() <= 0.01
    d0, d1 = np.array(own["diff"][1:]), np.array(mine["diff"][1:])  # mean change of 0..255: within 0.1 + 1 %
    assert (np.abs(d0 - d1) <= 0.1 + 0.01 * np.maximum(d0, d1)).all(), np.abs(d0 - d1).max()
    assert np.abs(np.subtract([b[1:] for b in own["bars"]], [b[1:] for b in mine["bars"]])).max() <= 0.01
    assert [s["t"] for s in own["nudity"]] == [s["t"] for s in mine["nudity"]]
    assert max(abs(a["score"] - b["score"]) for a, b in zip(own["nudity"], mine["nudity"])) <= 0.05

    # the same findings, within a frame
    for check in ("flashes", "black", "letterbox"):
        a, b = (_findings({"picture": p, "video": {"duration_s": BOXED[1]}}, check) for p in (own, mine))
        assert len(a) == len(b) == 1, (check, a, b)
        assert abs(a[0]["start_s"] - b[0]["start_s"]) <= 1 / RATE and abs(a[0]["end_s"] - b[0]["end_s"]) <= 1 / RATE
    (flash,) = _findings({"picture": mine}, "flashes")
    assert abs(flash["start_s"] - FLASH[0]) <= 0.2 and abs(flash["end_s"] - FLASH[1]) <= 0.3
    (black,) = _findings({"picture": mine}, "black")
    assert abs(black["start_s"] - BLACK[0]) <= 0.1 and abs(black["end_s"] - BLACK[1]) <= 0.1

    # evidence: the visual stage's thumbnails, stored as the compliance stage's own under the same names
    theirs, ours = _blobs(cplatform, ctenant, shared_id, "visual"), _blobs(cplatform, ctenant, shared_id, "compliance")
    assert theirs and ours == theirs
    assert sorted(s["evidence"] for s in mine["nudity"]) == sorted(ours)
    assert sorted(_blobs(cplatform, ctenant, own_id, "compliance")) == sorted(ours)
    rep = cclient.get(f"/api/v1/videos/{shared_id}/compliance", headers=ctenant.headers)
    assert rep.status_code == 200 and rep.json()["verdict"] == "fail"  # 5 Hz flashing


def test_other_options_or_no_visual_measurements_mean_a_decode(cplatform, cclient, ctenant, talk, visual, decodes):
    visual.nudity_period_s = 1.0  # measured, but not as the compliance worker's settings ask
    _process(cplatform, cclient, ctenant, talk)
    assert len(decodes) == 1 and _stage_output(cplatform, ctenant, "compliance")["picture_shared"] is False

    visual.nudity_period_s = None
    cplatform.settings.compliance_nudity = False
    _process(cplatform, cclient, ctenant, talk, copy=1)
    assert len(decodes) == 1 and _stage_output(cplatform, ctenant, "compliance")["picture_shared"] is True

    # compliance switched off: the visual stage is given no pass to feed
    cplatform.settings.disabled_stages = [*cplatform.settings.disabled_stages, "compliance"]
    assert shared.shared_picture(cplatform.settings, frame_spec({"streams": [
        {"kind": "video", "width": 640, "height": 360, "fps": 25.0}]}, 640)) is None


def test_a_measurement_of_another_job_or_size_is_not_reused():
    spec = frame_spec({"streams": [{"kind": "video", "width": 1280, "height": 720, "fps": 25.0}]}, 640)

    class St:
        compliance_nudity, compliance_nudity_period_s, compliance_width = False, 2.0, 320
        disabled_stages: list[str] = []

    pp = shared.shared_picture(St, spec)
    frame = np.full((spec.height, spec.width, 3), 90, np.uint8)
    for i in range(5):
        pp.feed(i / spec.fps, frame)
    job = uuid.uuid4()
    doc, *blobs = shared.picture_outputs(pp, spec, job)
    assert blobs == [] and doc.doc["picture"]["size"] == [320, 180] and doc.doc["picture"]["frames"] == 5
    opts = shared.picture_options(St)
    assert shared.reusable(doc, job, opts, (320, 180))
    assert not shared.reusable(doc, uuid.uuid4(), opts, (320, 180))  # an earlier job's
    assert not shared.reusable(doc, job, opts, (640, 360))  # compliance decodes wider than visual did
    St.compliance_nudity_period_s = 1.0
    assert not shared.reusable(doc, job, shared.picture_options(St), (320, 180))
    assert not shared.reusable(None, job, opts, (320, 180))
    missing = PictureMeasurements(dict(doc.doc, evidence=["evidence-000000000.jpg"]))
    assert not shared.reusable(missing, job, opts, (320, 180))  # names a thumbnail that is not stored


def test_the_pass_pickles_mid_video_and_resumes_to_the_same_numbers(talk, tmp_path):
    from clipdex.settings import Settings

    st = Settings(data_dir=tmp_path, env="test", secret_key="t" * 40)
    st.staging_dir.mkdir(parents=True, exist_ok=True)
    spec = frame_spec({"streams": [{"kind": "video", "width": 640, "height": 360, "fps": RATE}]}, 640)
    whole = shared.shared_picture(st, spec)
    resumed = shared.shared_picture(st, spec)
    for f in read_frames(st, talk, spec, fmt="mov"):
        whole.feed(f.t, f.image)
        resumed.feed(f.t, f.image)
        if f.index == 60:  # two nudity samples pending in the batch
            resumed = pickle.loads(pickle.dumps(resumed))
    a, b = shared.picture_document(whole, spec), shared.picture_document(resumed, spec)
    assert a == b and len(a["nudity"]) == 4 and a["flashes"]["general"]


def test_real_visual_stage_shares_its_decode(cplatform, cclient, ctenant, talk, decodes):
    cplatform.settings.visual_ocr = cplatform.settings.visual_faces = cplatform.settings.visual_tags = False
    vid = _process(cplatform, cclient, ctenant, talk)
    assert decodes == [] and _stage_output(cplatform, ctenant, "compliance")["picture_shared"] is True
    (flash,) = _findings(_measurements(cplatform, ctenant, vid), "flashes")
    assert abs(flash["start_s"] - FLASH[0]) <= 0.2


def test_a_cut_to_a_still_after_flashing_stops_counting():
    """Once half the screen last went up and half down, a still picture used to count a transition on
    every frame (found by the talk above: its flashing 'lasted' into the letterboxed still)."""
    from clipdex.compliance.flashes import FlashDetector

    det = FlashDetector()
    white, black = np.full((45, 80, 3), 255, np.uint8), np.zeros((45, 80, 3), np.uint8)
    still = np.zeros_like(white)
    still[:, :40] = 255
    still[:, 40:] = 128  # from white: the right half darker; from black: brighter
    frames = [white if i % 2 else black for i in range(10)] + [still] * 40
    for i, img in enumerate(frames):
        det.feed(i / 25, img)
    general = det.result()["general"]
    assert len(general) >= 9 and max(t for t, _ in general) <= 11 / 25, general
