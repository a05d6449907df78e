"""Shot keyframes through an operator-configured image-text model (a tiny random CLIP built here:
no real CLIP weights exist offline, so this tests the plumbing, not the quality)."""

from __future__ import annotations

import pytest

from clipdex.search.images import image_hits, table_name
from clipdex.search.retrieve import Filters
from clipdex.search.store import get_store
from tests.conftest import api_client, drain, new_tenant, upload
from tests.search.library import pipeline_platform
from tests.visual.media import make_shots_video
from tests.visual.test_tags import _tiny_clip

pytestmark = pytest.mark.slow


def test_shots_are_indexed_by_image_and_found_by_text(tmp_path):
    clip_dir = tmp_path / "clip"
    _tiny_clip(clip_dir)
    p = pipeline_platform(tmp_path, {"probe", "visual", "index"}, clip_model_dir=clip_dir,
                          clip_min_similarity=-1.0, visual_ocr=False, visual_faces=False)
    try:
        with api_client(p) as c:
            a, b = new_tenant(p, c, "Alpha"), new_tenant(p, c, "Beta")
            vid = upload(c, a, make_shots_video(tmp_path / "s.mp4"), title="Shots").json()["id"]
            upload(c, b, make_shots_video(tmp_path / "b.mp4"), title="B shots")
            drain(p)
            store = get_store(p.settings)
            table = store.db(a.id).open_table(table_name(p.settings))
            shots = c.get(f"/api/v1/videos/{vid}/shots", headers=a.headers).json()["shots"]
            assert table.count_rows() == len([s for s in shots if s["keyframe"]]) > 1
            assert table.schema.field("vector").type.list_size == 16  # the image model's space, not MiniLM's

            hits = image_hits(p, a.id, "a photo of car", None)
            assert hits and {str(h.video_id) for h in hits} == {vid} and all(h.modality == "shot" for h in hits)
            assert not image_hits(p, a.id, "a photo of car", Filters(tags=("cat",)))  # filters it cannot honour
            items = c.get("/api/v1/search", params={"q": "a photo of car"}, headers=a.headers).json()["items"]
            assert items and {i["video_id"] for i in items} == {vid} and items[0]["thumbnail_url"]

            assert c.delete(f"/api/v1/videos/{vid}", headers=a.headers).status_code == 204
            assert table.count_rows() == 0 or store.db(a.id).open_table(table.name).count_rows() == 0
    finally:
        p.close()
