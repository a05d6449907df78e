"""A platform with the visual stage on (the shared conftest switches model stages off)."""

from __future__ import annotations

import pytest

from tests.conftest import MODEL_STAGES, api_client, migrated_sqlite_settings, new_tenant, open_platform
from tests.visual.media import make_shots_video


@pytest.fixture
def visual_platform(tmp_path):
    settings = migrated_sqlite_settings(tmp_path, disabled_stages=[s for s in MODEL_STAGES if s != "visual"])
    with open_platform(settings) as p:
        yield p


@pytest.fixture
def vclient(visual_platform):
    with api_client(visual_platform) as c:
        yield c


@pytest.fixture
def vtenant(visual_platform, vclient):
    return new_tenant(visual_platform, vclient, "Vis")


@pytest.fixture(scope="session")
def shots_video(tmp_path_factory):
    return make_shots_video(tmp_path_factory.mktemp("visual") / "shots.mp4")
