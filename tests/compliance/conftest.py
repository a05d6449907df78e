"""Platforms with the compliance stage on (the shared conftest switches it off with the model stages)."""

from __future__ import annotations

import pytest

from tests.compliance import media
from tests.conftest import MODEL_STAGES, api_client, migrated_sqlite_settings, new_tenant, open_platform


@pytest.fixture
def cplatform(request, tmp_path):
    """A platform with compliance on, plus the model stages the test module names in ``ENABLED_STAGES``."""
    keep = {"compliance", *getattr(request.module, "ENABLED_STAGES", ())}
    settings = migrated_sqlite_settings(tmp_path, disabled_stages=[s for s in MODEL_STAGES if s not in keep])
    with open_platform(settings) as p:
        yield p


@pytest.fixture
def cclient(cplatform):
    with api_client(cplatform) as c:
        yield c


@pytest.fixture
def ctenant(cplatform, cclient):
    return new_tenant(cplatform, cclient, "Comp")


@pytest.fixture(scope="session")
def cmedia(tmp_path_factory):
    return tmp_path_factory.mktemp("compliance-media")


@pytest.fixture(scope="session")
def qc_video(cmedia):
    return media.qc_video(cmedia / "qc.mp4")


@pytest.fixture(scope="session")
def loud_video(cmedia):
    return media.tone_video(cmedia / "loud.mp4", -10.0)


@pytest.fixture(scope="session")
def r128_video(cmedia):
    return media.tone_video(cmedia / "r128.mp4", -23.0)


@pytest.fixture(scope="session")
def flash5_video(cmedia):
    return media.flash_video(cmedia / "flash5.mp4", 5.0)


@pytest.fixture(scope="session")
def flash1_video(cmedia):
    return media.flash_video(cmedia / "flash1.mp4", 1.0)
