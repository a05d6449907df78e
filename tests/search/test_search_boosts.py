"""Search ranks glossary terms up and filters by compliance verdict."""

from __future__ import annotations

import uuid

from clipdex.models import ComplianceResult
from clipdex.search import rank
from clipdex.search.moments import Moment
from clipdex.search.retrieve import Passage
from tests.api.ingest_support import assert_problem
from tests.conftest import new_tenant, upload
from tests.media import make_video


def _moment(vid: uuid.UUID, text: str, score: float) -> Moment:
    return Moment(vid, 0.0, 5.0, score, [Passage(vid, 0.0, 5.0, text, "transcript", score)])


def test_glossary_terms_rank_moments_up():
    a, b = uuid.uuid4(), uuid.uuid4()
    found = [_moment(a, "the quarterly plan", 1.0), _moment(b, "we ship Zorblax next week", 0.9)]
    assert [m.video_id for m in rank.boost_glossary(list(found), [])] == [a, b]
    boosted = rank.boost_glossary(found, ["zorblax"])
    assert [m.video_id for m in boosted] == [b, a]
    assert abs(boosted[0].score - 0.9 * rank.WEIGHTS.glossary_boost) < 1e-9


def test_search_filters_by_compliance_verdict(sq, tmp_path):
    platform, client = sq
    t = new_tenant(platform, client, "Verdicts")
    ids = [uuid.UUID(upload(client, t, make_video(tmp_path / f"v{i}.mp4", seconds=1, size="96x64",
                                                  tone_hz=300 + 100 * i)).json()["id"]) for i in range(3)]
    with platform.db.tenant(t.id) as s:
        for vid, verdict in zip(ids, ("pass", "fail", "fail"), strict=True):
            s.add(ComplianceResult(tenant_id=t.id, video_id=vid, policy_version=1, verdict=verdict,
                                   policy_name=platform.settings.compliance_default_policy))
    from clipdex.compliance.service import videos_with_verdict

    with platform.db.tenant(t.id) as s:
        assert videos_with_verdict(s, t.id, "fail", platform.settings.compliance_default_policy) == set(ids[1:])
        assert videos_with_verdict(s, t.id, "warn", platform.settings.compliance_default_policy) == set()
    # through the API: an unknown verdict is refused, a verdict no video has answers nothing at once
    assert_problem(client.get("/api/v1/search", params={"q": "x", "compliance": "bogus"}, headers=t.headers), 422)
    r = client.get("/api/v1/search", params={"q": "anything", "compliance": "warn"}, headers=t.headers)
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
