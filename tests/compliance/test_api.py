"""The compliance stage through the pipeline and the API: reports, other policies without new analysis,
policies and their versions, the tenant default, videos by verdict, HTML and PDF renderings."""

from __future__ import annotations

import shutil
import subprocess
import uuid

from sqlalchemy import select

from clipdex.models import Artifact, JobStage, Video
from tests.compliance import media
from tests.conftest import add_user, drain, login, upload


def _processed(cplatform, cclient, ctenant, path) -> str:
    vid = upload(cclient, ctenant, path).json()["id"]
    drain(cplatform)
    return vid


def _checks(rep: dict) -> dict:
    return {c["check"]: c["verdict"] for c in rep["checks"]}


def test_report_other_policies_defaults_and_listing(cplatform, cclient, ctenant, qc_video):
    h = ctenant.headers
    vid = _processed(cplatform, cclient, ctenant, qc_video)
    rep = cclient.get(f"/api/v1/videos/{vid}/compliance", headers=h).json()
    assert rep["policy"]["name"] == "streaming" and rep["policy"]["builtin"] is True  # the settings' default
    assert rep["verdict"] == "fail" and _checks(rep)["loudness"] == "fail", rep["checks"]  # -23 LUFS, target -14
    black = [f for f in rep["findings"] if f["check"] == "black"]
    assert len(black) == 1 and abs(black[0]["start_s"] - media.BLACK[0]) <= 0.1
    assert [f["start_s"] for f in rep["findings"]] == sorted(f["start_s"] for f in rep["findings"])
    assert rep["loudness"]["series"]["t"] and -23.5 <= rep["loudness"]["integrated_lufs"] <= -22.5
    assert _checks(rep)["language"] == "not_measured" and _checks(rep)["nudity"] == "pass"

    # the job's events carry the verdict
    job = cclient.get(f"/api/v1/jobs?video_id={vid}", headers=h).json()["items"][0]
    snap = cclient.get(f"/api/v1/jobs/{job['id']}", headers=h).json()
    assert snap["compliance"]["verdict"] == "fail" and snap["compliance"]["policy"] == "streaming"
    with cclient.stream("GET", f"/api/v1/jobs/{job['id']}/events", headers=h) as r:
        body = "".join(r.iter_text())
    assert '"compliance": {"verdict": "fail"' in body

    # another policy: no media is read again (the original is gone and nothing is re-run)
    with cplatform.db.tenant(ctenant.id) as s:
        key = s.scalar(select(Video.blob_key).where(Video.id == uuid.UUID(vid)))
        runs_before = s.scalar(select(JobStage.attempt).where(JobStage.name == "compliance"))
    cplatform.blobs.delete(key)
    eu = cclient.get(f"/api/v1/videos/{vid}/compliance?policy=broadcast-eu", headers=h).json()
    assert eu["policy"]["name"] == "broadcast-eu" and _checks(eu)["loudness"] == "pass"
    assert {f["check"] for f in eu["findings"]} >= {"black", "freeze", "silence"}  # eu: silence >= 5 s is flagged
    assert drain(cplatform) == 0
    with cplatform.db.tenant(ctenant.id) as s:
        assert s.scalar(select(JobStage.attempt).where(JobStage.name == "compliance")) == runs_before

    assert [i["video_id"] for i in cclient.get("/api/v1/compliance?verdict=fail", headers=h).json()["items"]] == [vid]
    # a tenant policy made the default re-derives the stored verdict
    r = cclient.post("/api/v1/compliance/policies", headers=h, json={
        "name": "house", "base": "broadcast-eu", "default": True, "rules": {
            "freeze": {"severity": "info"}, "black": {"min_s": 5}, "silence": {"enabled": False},
            "format": {"min_width": 160, "min_height": 90}, "language": {"enabled": False},
            "personal_data": {"enabled": False}, "violence_audio": {"enabled": False}, "captions": {"enabled": False}}})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert cclient.get("/api/v1/compliance?verdict=fail", headers=h).json()["items"] == []
    listed = cclient.get("/api/v1/compliance?verdict=pass", headers=h).json()["items"]
    assert [(i["video_id"], i["policy_name"], i["policy_version"]) for i in listed] == [(vid, "house", 1)]
    assert cclient.get(f"/api/v1/videos/{vid}/compliance", headers=h).json()["policy"]["name"] == "house"

    # a change is a new version; the old one stays available
    r = cclient.put(f"/api/v1/compliance/policies/{pid}", headers=h, json={"rules": {"black": {"min_s": 2}}})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert cclient.get(f"/api/v1/compliance/policies/{pid}", headers=h).json()["versions"] == [1, 2]
    v1 = cclient.get(f"/api/v1/videos/{vid}/compliance?policy=house&version=1", headers=h).json()
    v2 = cclient.get(f"/api/v1/videos/{vid}/compliance?policy=house&version=2", headers=h).json()
    assert (v1["verdict"], v2["verdict"]) == ("pass", "warn") and v2["policy"]["version"] == 2
    assert cclient.get("/api/v1/compliance?verdict=warn", headers=h).json()["items"][0]["policy_version"] == 2
    names = {p["name"]: p for p in cclient.get("/api/v1/compliance/policies", headers=h).json()}
    assert set(names) == {"house", "broadcast-eu", "broadcast-us", "streaming", "kids"} and names["house"]["is_default"]
    assert not any(p["is_default"] for n, p in names.items() if n != "house")


def test_policy_validation_roles_and_unknown_names(cplatform, cclient, ctenant):
    h = ctenant.headers
    bad = cclient.post("/api/v1/compliance/policies", headers=h,
                       json={"name": "x", "rules": {"loudness": {"target_lufs": "very"}}})
    assert bad.status_code == 422 and bad.json()["code"] == "compliance.policy_invalid"
    assert bad.json()["field"] == "rules.loudness.target_lufs"
    assert cclient.post("/api/v1/compliance/policies", headers=h, json={"name": "x", "base": "nope"}).status_code == 422
    ok = cclient.post("/api/v1/compliance/policies", headers=h, json={"name": "x", "base": "kids"})
    assert ok.status_code == 201 and ok.json()["rules"]["nudity"]["min_score"] == 0.3
    dup = cclient.post("/api/v1/compliance/policies", headers=h, json={"name": "x"})
    assert dup.status_code == 409
    r = cclient.put("/api/v1/compliance/default", headers=h, json={"policy": "no-such-policy"})
    assert r.status_code == 404 and r.json()["code"] == "compliance.policy_not_found"
    add_user(cplatform, ctenant.id, f"member@{ctenant.slug}.example.com", "member")
    member = {"Authorization": "Bearer " + login(cclient, f"member@{ctenant.slug}.example.com",
                                                 tenant=ctenant.slug)["access_token"]}
    assert cclient.put("/api/v1/compliance/default", headers=member, json={"policy": "kids"}).status_code == 403
    assert cclient.put(f"/api/v1/compliance/policies/{ok.json()['id']}", headers=member,
                       json={"title": "t"}).status_code == 403
    assert cclient.get("/api/v1/compliance/policies", headers=member).status_code == 200
    assert cclient.put("/api/v1/compliance/default", headers=h, json={"policy": "kids"}).json()["policy"] == "kids"


def test_not_measured_video_answers_409(cplatform, cclient, ctenant, qc_video):
    vid = upload(cclient, ctenant, qc_video).json()["id"]  # not processed yet
    r = cclient.get(f"/api/v1/videos/{vid}/compliance", headers=ctenant.headers)
    assert r.status_code == 409 and r.json()["code"] == "compliance.not_analyzed"


def test_html_and_pdf_renderings(cplatform, cclient, ctenant, flash5_video, tmp_path):
    h = ctenant.headers
    vid = _processed(cplatform, cclient, ctenant, flash5_video)
    page = cclient.get(f"/api/v1/videos/{vid}/compliance.html?policy=broadcast-eu", headers=h)
    assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    assert "Verdict: FAIL" in page.text and "Flashing" in page.text and "<script" not in page.text
    pdf = cclient.get(f"/api/v1/videos/{vid}/compliance.pdf?policy=broadcast-eu", headers=h)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "report.pdf").write_bytes(pdf.content)
    if shutil.which("pdftoppm"):  # the page renders (the image is for a person to look at)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(tmp_path / "report.pdf"),
                        str(tmp_path / "page")], check=True)
        assert list(tmp_path.glob("page*.png"))
    with cplatform.db.tenant(ctenant.id) as s:
        names = set(s.scalars(select(Artifact.name).where(Artifact.stage == "compliance")))
    assert names == {"measurements.json"}  # no evidence thumbnails for a clip nothing scores on
