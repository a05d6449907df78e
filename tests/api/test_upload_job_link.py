"""An accepted upload (or import) names its job: id and events URL in the body, Location and Link headers."""

from __future__ import annotations

import json

import pytest

from tests.conftest import drain, upload
from tests.media import make_video


@pytest.fixture
def clip(tmp_path):
    return make_video(tmp_path / "clip.mp4", seconds=2)


def _events(r) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in r.iter_lines() if line.startswith("event:")]


def test_upload_201_names_the_job_and_its_event_stream(client, platform, tenant_a, tenant_b, clip):
    r = upload(client, tenant_a, clip, title="Follow me")
    assert r.status_code == 201, r.text
    body = r.json()
    job = body["job"]
    assert job["status"] == "queued"
    assert job["url"] == f"/api/v1/jobs/{job['id']}" and job["events_url"] == f"/api/v1/jobs/{job['id']}/events"
    assert r.headers["location"] == f"/api/v1/videos/{body['id']}"
    assert r.headers["link"] == f'<{job["events_url"]}>; rel="monitor", <{job["url"]}>; rel="related"'
    # the job named is the video's job, and its event stream (the README's next step) works as given
    detail = client.get(r.headers["location"], headers=tenant_a.headers).json()
    assert detail["job"]["id"] == job["id"]
    drain(platform)
    with client.stream("GET", job["events_url"], headers=tenant_a.headers) as ev:
        assert ev.status_code == 200 and _events(ev) == ["progress", "done"]
    # still only the owner's
    assert client.get(job["url"], headers=tenant_b.headers).status_code == 404


def test_openapi_documents_the_job_of_an_upload(client):
    spec = client.get("/api/v1/openapi.json")
    spec = spec.json() if spec.status_code == 200 else client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/videos"]["post"]["responses"]["201"]
    assert set(op["headers"]) == {"Location", "Link"}
    ref = op["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "job" in spec["components"]["schemas"][ref]["properties"]
    assert json.dumps(spec["components"]["schemas"]["JobLink"]["properties"]).count("events_url") == 1
