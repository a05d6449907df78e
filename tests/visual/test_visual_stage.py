"""The visual stage end to end on generated media with known cuts, a flash, a fade and text."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clipdex.analyzers.shots import ShotDetector, feature
from clipdex.analyzers.visual import VisualOptions, VisualPass
from clipdex.media.frames import probe_spec, read_frames
from clipdex.models import JobStage
from tests.conftest import drain, upload
from tests.visual import media


def test_one_decode_yields_every_frame_at_analysis_size(visual_platform, shots_video):
    spec = probe_spec(visual_platform.settings, shots_video, 160)
    assert (spec.width, spec.height, spec.fps) == (160, 120, 25.0)
    frames = list(f.index for f in read_frames(visual_platform.settings, shots_video, spec))
    assert frames == list(range(media.FRAMES))
    # stopping early ends the decoder instead of leaving it blocked on a full pipe
    it = read_frames(visual_platform.settings, shots_video, spec)
    first = next(it)
    assert first.image.shape == (120, 160, 3)
    it.close()


def test_cuts_fades_and_a_flash(visual_platform, shots_video):
    spec = probe_spec(visual_platform.settings, shots_video, 320)
    det = ShotDetector(spec.fps)
    for f in read_frames(visual_platform.settings, shots_video, spec):
        det.feed(feature(f.image))
    found = [b.frame for b in det.boundaries()]
    for cut in media.CUTS:
        assert any(abs(cut - b) <= 1 for b in found), (cut, found)
    assert any(media.FADE_OUT[0] - 1 <= b <= media.FADE_OUT[1] + 1 for b in found), found
    assert any(media.FADE_IN[0] - 1 <= b <= media.FADE_IN[1] + 1 for b in found), found
    assert not any(media.FLASH - 2 <= b <= media.FLASH + 2 for b in found), f"flash taken for a cut: {found}"
    assert len(found) == 5, found
    black = det.black_runs()
    assert len(black) == 1 and abs(black[0][0] - 150) <= 2 and abs(black[0][1] - 160) <= 2


@pytest.mark.slow
def test_stage_through_the_api(visual_platform, vclient, vtenant, shots_video):
    h = vtenant.headers
    vid = upload(vclient, vtenant, shots_video).json()["id"]
    drain(visual_platform)
    detail = vclient.get(f"/api/v1/videos/{vid}", headers=h).json()
    assert detail["status"] == "ready", detail
    visual = next(s for s in detail["job"]["stages"] if s["name"] == "visual")
    assert visual["status"] == "succeeded"
    scenes_stage = next(s for s in detail["job"]["stages"] if s["name"] == "scenes")
    assert scenes_stage["status"] == "succeeded"  # no transcript here: the visual grouping stands
    with visual_platform.db.tenant(vtenant.id) as s:
        thumb = s.scalar(select(JobStage).where(JobStage.name == "thumbnail"))
        assert thumb.status == "succeeded" and thumb.output.get("source") == "visual", thumb.output  # no decode
    assert {a["name"] for a in detail["artifacts"] if a["stage"] == "thumbnail"} == {"poster.jpg", "thumb.jpg"}
    names = {a["name"] for a in detail["artifacts"] if a["stage"] == "visual"}
    assert {"shots.json", "scenes.json", "cues.json", "text.json", "tags.json", "faces.json", "storyboard.jpg",
            "storyboard.vtt", "poster.jpg", "keyframe-00000.jpg", "keyframe-00000-160.jpg"} <= names

    shots = vclient.get(f"/api/v1/videos/{vid}/shots", headers=h).json()["shots"]
    starts = [s["start_frame"] for s in shots]
    assert len(shots) == 6 and starts[0] == 0, starts
    for s in shots:
        assert s["start_frame"] <= round(s["keyframe_s"] * 25) < s["end_frame"]
    # the black stretch between fade-out and fade-in is its own shot: its keyframe is black, the others not
    scenes = vclient.get(f"/api/v1/videos/{vid}/scenes", headers=h).json()["scenes"]
    assert sum(len(sc["shots"]) for sc in scenes) == len(shots)

    spans = vclient.get(f"/api/v1/videos/{vid}/text", headers=h).json()["spans"]
    card = [sp for sp in spans if sp["text"].replace(" ", "") == media.TEXT.replace(" ", "")]
    assert len(card) == 1, spans
    assert 2.4 <= card[0]["start_s"] <= 2.8 and 4.3 <= card[0]["end_s"] <= 4.5, card
    x, y, w, hgt = card[0]["box"]
    assert 20 < x < 160 and 80 < y < 140 and w > 150

    cues = vclient.get(f"/api/v1/videos/{vid}/cues", headers=h).json()
    assert len(cues["black"]) == 1 and 5.8 <= cues["black"][0]["start_s"] <= 6.1
    assert any(c["start_s"] <= 2.5 and c["end_s"] >= 4.3 for c in cues["frozen"])  # the still text card

    vtt_id = next(a["id"] for a in detail["artifacts"] if a["name"] == "storyboard.vtt")
    link = vclient.get(f"/api/v1/videos/{vid}/artifacts/{vtt_id}/download", headers=h).json()
    vtt = vclient.get(link["url"].replace("http://127.0.0.1:8000", "")).text
    assert vtt.startswith("WEBVTT") and "storyboard.jpg#xywh=0,0,160,120" in vtt
    assert vclient.get(f"/api/v1/videos/{vid}/people", headers=h).json() == []


def test_analyzers_share_the_pass_and_can_be_switched_off(visual_platform, shots_video):
    spec = probe_spec(visual_platform.settings, shots_video, 320)
    vp = VisualPass(spec, VisualOptions(faces=False, ocr=False, tags=False), 8.0)
    for f in read_frames(visual_platform.settings, shots_video, spec):
        vp.feed(f.index, f.t, f.image)
    r = vp.finish()
    assert r["text"] is None and r["tags"] is None and r["tracks"] is None
    assert len(r["shots"]) == 6 and len(vp.tiles) >= 8
