"""What the console needed from the API: thumbnails in video lists, titles on citations and
appearances, usage history in one call, typed transcript/shot/scene documents."""

from __future__ import annotations

import contextlib
import uuid
from urllib.parse import parse_qs, urlparse

import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event

from clipdex.api.routes.transcripts import TranscriptDocument, TranscriptSegment
from clipdex.api.routes.visual import SceneList, ShotList
from clipdex.app import create_app
from clipdex.billing.metering import last_months
from clipdex.models import Artifact, Face, Person, UsageRecord, Video
from clipdex.platform import Platform
from tests.conftest import drain, migrated_sqlite_settings, new_tenant, upload
from tests.media import make_video
from tests.scaleout.s3_server import moto_s3, s3_overrides  # noqa: F401  (pytest fixtures)

V = "/api/v1"
PUBLIC = "http://127.0.0.1:8000"


@contextlib.contextmanager
def statements(platform: Platform):
    """Every SQL statement the platform's engine runs inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(platform.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(platform.db.engine, "before_cursor_execute", record)


def _image_width(client: TestClient, url: str) -> int:
    r = client.get(url.replace(PUBLIC, ""))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg", r.text
    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img.shape[1]


# --- 1. thumbnail_url on list and get -----------------------------------------------------------

def test_list_and_get_carry_signed_thumbnail_links(client, platform, tenant_a, tenant_b, tmp_path):
    h = tenant_a.headers
    ids = [upload(client, tenant_a, make_video(tmp_path / f"v{i}.mp4", seconds=1, size="800x450",
                                               tone_hz=300 + 100 * i), title=f"clip {i}").json()["id"]
           for i in range(2)]
    drain(platform)
    queued = upload(client, tenant_a, make_video(tmp_path / "late.mp4", seconds=1), title="late").json()["id"]

    with statements(platform) as seen:
        items = client.get(f"{V}/videos?sort=title", headers=h).json()["items"]
    assert [v["title"] for v in items] == ["clip 0", "clip 1", "late"]
    assert sum(1 for q in seen if "FROM artifacts" in q) == 1  # one artifact query for the page
    by_id = {v["id"]: v["thumbnail_url"] for v in items}
    assert by_id[queued] is None  # not processed yet: no thumbnail, no link
    for vid in ids:
        assert by_id[vid].startswith(f"{PUBLIC}/api/v1/blobs/")
        assert _image_width(client, by_id[vid]) == 320  # thumb.jpg, the list size
        detail = client.get(f"{V}/videos/{vid}", headers=h).json()
        assert _image_width(client, detail["thumbnail_url"]) == 320
    assert client.get(f"{V}/videos/{queued}", headers=h).json()["thumbnail_url"] is None

    # a video with only the poster (an older stage version, a partial run) shows the poster
    with platform.db.tenant(tenant_a.id) as s:
        s.execute(delete(Artifact).where(Artifact.tenant_id == tenant_a.id, Artifact.video_id == uuid.UUID(ids[0]),
                                         Artifact.name == "thumb.jpg"))
    first = client.get(f"{V}/videos?sort=title&limit=1", headers=h).json()["items"][0]
    assert _image_width(client, first["thumbnail_url"]) == 640
    assert client.get(f"{V}/videos", headers=tenant_b.headers).json()["items"] == []


def test_thumbnail_links_are_opaque_and_redirect_to_presigned_s3(tmp_path, s3_overrides):  # noqa: F811
    p = Platform.from_settings(migrated_sqlite_settings(tmp_path, **s3_overrides))
    try:
        with TestClient(create_app(platform=p, embedded_workers=0)) as c:
            a = new_tenant(p, c, "Alpha")
            vid = upload(c, a, make_video(tmp_path / "clip.mp4", seconds=1)).json()["id"]
            drain(p)
            listed = c.get(f"{V}/videos", headers=a.headers).json()["items"][0]["thumbnail_url"]
            got = c.get(f"{V}/videos/{vid}", headers=a.headers).json()["thumbnail_url"]
            for url in (listed, got):
                # the link names no object key (tenant and video ids live in it) ...
                assert "/api/v1/blobs/" in url and str(a.id) not in url and vid not in url
                # ... and redirects to a presigned GET on the store only when followed
                hop = c.get(urlparse(url).path, follow_redirects=False)
                assert hop.status_code == 307, hop.text
                u = urlparse(hop.headers["location"])
                assert hop.headers["location"].startswith(s3_overrides["s3_endpoint_url"])
                assert f"/tenants/{a.id}/" in u.path and u.path.endswith("/thumb.jpg")
                assert parse_qs(u.query)["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
                r = httpx.get(hop.headers["location"])
                assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    finally:
        p.close()


# --- 3. usage history ---------------------------------------------------------------------------

def test_last_months_crosses_the_year():
    from datetime import datetime, timezone

    now = datetime(2026, 2, 14, tzinfo=timezone.utc)
    assert last_months(4, now) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert last_months(1, now) == ["2026-02"]
    assert len(last_months(24, now)) == 24 and last_months(24, now)[0] == "2024-03"


def test_usage_history_is_one_grouped_query_per_tenant(client, platform, tenant_a, tenant_b):
    months = last_months(3)
    before = last_months(4)[0]  # outside the window
    rows = [(tenant_a, months[0], "processing_minutes", 2.5), (tenant_a, months[0], "processing_minutes", 1.0),
            (tenant_a, months[2], "api_calls", 7), (tenant_a, months[2], "api_calls", 5),
            (tenant_a, months[2], "processing_minutes", 0.25), (tenant_a, before, "processing_minutes", 99),
            (tenant_b, months[1], "processing_minutes", 42), (tenant_b, months[2], "api_calls", 1000)]
    for ctx, month, metric, qty in rows:
        with platform.db.tenant(ctx.id) as s:
            s.add(UsageRecord(tenant_id=ctx.id, month=month, metric=metric, quantity=qty,
                              source_key=f"test:{uuid.uuid4()}"))

    with statements(platform) as seen:
        r = client.get(f"{V}/usage/history?months=3", headers=tenant_a.headers)
    assert r.status_code == 200, r.text
    assert sum(1 for q in seen if "FROM usage_records" in q) == 1
    body = r.json()
    assert [i["month"] for i in body["items"]] == months  # oldest first, empty months included
    assert [(i["processing_minutes"], i["api_calls"]) for i in body["items"]] == [(3.5, 0), (0.0, 0), (0.25, 12)]
    assert body["tier"] == "pro" and body["limits"]["processing_minutes_per_month"] > 0
    # the current month agrees with GET /usage (API calls are metered in batches, so those may differ)
    cur = client.get(f"{V}/usage", headers=tenant_a.headers).json()
    assert cur["month"] == months[-1] and cur["processing_minutes"] == 0.25 and cur["limits"] == body["limits"]

    assert len(client.get(f"{V}/usage/history", headers=tenant_a.headers).json()["items"]) == 6  # the default
    b = client.get(f"{V}/usage/history?months=3", headers=tenant_b.headers).json()["items"]
    assert [(i["processing_minutes"], i["api_calls"]) for i in b] == [(0.0, 0), (42.0, 0), (0.0, 1000)]
    for bad in ("0", "25", "x"):
        assert client.get(f"{V}/usage/history?months={bad}", headers=tenant_a.headers).status_code == 422
    assert client.get(f"{V}/usage/history").status_code == 401


# --- 2. titles on people appearances --------------------------------------------------------------

def test_person_appearances_carry_video_titles(client, platform, tenant_a, tmp_path):
    titled = upload(client, tenant_a, make_video(tmp_path / "a.mp4", seconds=1), title="Board meeting").json()["id"]
    untitled = upload(client, tenant_a, make_video(tmp_path / "b.mp4", seconds=1, tone_hz=500)).json()["id"]
    emb = np.zeros(128, np.float32).tobytes()
    with platform.db.tenant(tenant_a.id) as s:
        person = Person(tenant_id=tenant_a.id, embedding=emb, face_count=3)
        s.add(person)
        s.flush()
        for vid, start in ((titled, 1.0), (titled, 4.0), (untitled, 2.0)):
            s.add(Face(tenant_id=tenant_a.id, person_id=person.id, video_id=uuid.UUID(vid), start_s=start,
                       end_s=start + 1, embedding=emb))
        pid = str(person.id)
        other = s.get(Video, uuid.UUID(untitled))
        other.title = ""  # an untitled video is shown by its filename
        filename = other.filename
    h = tenant_a.headers
    apps = client.get(f"{V}/people/{pid}", headers=h).json()["appearances"]
    assert sorted((a["video_id"], a["video_title"], a["start_s"]) for a in apps) == sorted(
        [(titled, "Board meeting", 1.0), (titled, "Board meeting", 4.0), (untitled, filename, 2.0)])
    in_video = client.get(f"{V}/videos/{titled}/people", headers=h).json()
    assert [(a["video_title"], a["start_s"]) for a in in_video[0]["appearances"]] == [("Board meeting", 1.0),
                                                                                     ("Board meeting", 4.0)]


# --- 2 and 4, through the real pipeline: cited titles, typed transcript/shots/scenes ---------------

PIPELINE = {"fetch", "probe", "extract_audio", "thumbnail", "transcribe", "visual", "scenes", "index"}


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    from tests.search.library import pipeline_platform, talk_video

    tmp = tmp_path_factory.mktemp("gaps")
    p = pipeline_platform(tmp, PIPELINE, visual_ocr=False, visual_faces=False, visual_tags=False)
    try:
        with TestClient(create_app(platform=p, embedded_workers=0)) as c:
            a = new_tenant(p, c, "Alpha")
            clip, _ = talk_video(tmp)
            vid = upload(c, a, clip, title="Quarterly review").json()["id"]
            drain(p)
            assert c.get(f"{V}/videos/{vid}", headers=a.headers).json()["status"] == "ready"
            yield {"c": c, "a": a, "vid": vid}
    finally:
        p.close()


@pytest.mark.slow
@pytest.mark.parametrize("path,body", [("/ask", {"question": "When is the launch planned?"}),
                                       ("/summarize", {"query": "the launch"})])
def test_citations_carry_the_video_title(spoken, path, body):
    r = spoken["c"].post(f"{V}{path}", json=body, headers=spoken["a"].headers)
    assert r.status_code == 200, r.text
    cites = r.json()["citations"]
    assert cites and all(c["video_id"] == spoken["vid"] and c["video_title"] == "Quarterly review" for c in cites)


@pytest.mark.slow
def test_transcript_shots_and_scenes_match_their_documented_models(spoken):
    c, h, vid = spoken["c"], spoken["a"].headers, spoken["vid"]
    t = c.get(f"{V}/videos/{vid}/transcript", headers=h).json()
    doc = TranscriptDocument.model_validate(t)
    assert doc.segments and doc.segments[0].words and doc.track == "original"
    assert doc.model_dump(include=set(t)).keys() == t.keys()  # every key of the JSON is kept
    seg = c.patch(f"{V}/videos/{vid}/transcript/segments/0", headers=h, json={"text": "Corrected words here"})
    assert seg.status_code == 200, seg.text
    assert TranscriptSegment.model_validate(seg.json()).corrected is True
    shots = ShotList.model_validate(c.get(f"{V}/videos/{vid}/shots", headers=h).json())
    scenes = SceneList.model_validate(c.get(f"{V}/videos/{vid}/scenes", headers=h).json())
    assert shots.shots and scenes.scenes and scenes.scenes[0].shots == [s.index for s in shots.shots
                                                                         if s.scene == scenes.scenes[0].index]
    spec = c.get("/openapi.json").json()["paths"]
    refs = {p: spec[f"{V}/videos/{{video_id}}/{p}"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"].rsplit("/", 1)[1] for p in ("transcript", "shots", "scenes")}
    assert refs == {"transcript": "TranscriptDocument", "shots": "ShotList", "scenes": "SceneList"}
