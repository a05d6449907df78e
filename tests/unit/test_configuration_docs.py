"""docs/configuration.md is generated from Settings, complete, current, and never shows a secret (issue 12)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from clipdex import settings_docs
from clipdex.settings import CREDENTIAL_URLS, GROUPS, SECRETS, Settings, Tier

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / settings_docs.DOC_PATH


def test_every_setting_and_tier_field_has_a_description():
    assert settings_docs.undocumented(Settings) == []
    assert settings_docs.undocumented(Tier) == []


def test_every_setting_is_in_exactly_one_group():
    counts = Counter(name for _, _, names in GROUPS.values() for name in names)
    fields = set(Settings.model_fields)
    assert sorted(fields - set(counts)) == [], "add these settings to a group in settings.GROUPS"
    assert sorted(set(counts) - fields) == [], "settings.GROUPS names settings that do not exist"
    assert [n for n, c in counts.items() if c > 1] == []
    assert (SECRETS | CREDENTIAL_URLS) <= fields


def test_credential_looking_settings_are_marked_secret():
    """A new ``*_password`` or ``*_api_key`` setting must be declared a secret, or the page would show its default."""
    looks_secret = {n for n in Settings.model_fields if n.endswith(("_key", "_key_id", "secret", "password"))}
    assert looks_secret <= SECRETS
    assert {"secret_key", "smtp_password", "stripe_webhook_secret", "s3_access_key_id"} <= looks_secret
    typed_secret = {n for n, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation)}
    assert typed_secret <= SECRETS


def test_the_page_is_current():
    assert PAGE.is_file(), "run `clipdex docs config`"
    assert PAGE.read_text() == settings_docs.render(), "docs/configuration.md is stale: run `clipdex docs config`"


def test_the_page_lists_every_variable_once():
    text = settings_docs.render()
    for name in Settings.model_fields:
        assert text.count(f"| `{settings_docs.env_var(name)}` |") == 1, name


def test_the_page_ignores_the_environment_and_never_shows_a_secret(monkeypatch):
    """Generated on a production host, the page still holds class defaults only."""
    before = settings_docs.render()
    planted = {name: f"planted-{name}-0123456789abcdef0123456789" for name in SECRETS}
    planted["database_url"] = "postgresql+psycopg://clipdex:hunter2-planted@db/clipdex"
    for name, value in planted.items():
        monkeypatch.setenv(settings_docs.env_var(name), value)
    monkeypatch.setenv("CLIPDEX_DATA_DIR", "/srv/planted-data-dir")
    assert Settings().secret_key == planted["secret_key"]  # the environment is really set
    after = settings_docs.render()
    assert after == before
    for value in [*planted.values(), "/srv/planted-data-dir"]:
        assert value not in after


def test_env_var_names_are_what_settings_reads(monkeypatch):
    """The documented name is the one pydantic-settings reads (checked on a plain and a list setting)."""
    monkeypatch.setenv(settings_docs.env_var("max_attempts"), "7")
    monkeypatch.setenv(settings_docs.env_var("disabled_stages"), "visual, diarize")
    s = Settings()
    assert (s.max_attempts, s.disabled_stages) == (7, ["visual", "diarize"])


def test_every_list_setting_takes_the_comma_form_the_page_promises(monkeypatch):
    lists = [n for n, f in Settings.model_fields.items() if settings_docs.type_name(f.annotation) == "list"]
    assert "disabled_stages" in lists
    for name in lists:
        monkeypatch.setenv(settings_docs.env_var(name), "a, b")
    s = Settings()
    assert {name: getattr(s, name) for name in lists} == {name: ["a", "b"] for name in lists}


@pytest.mark.parametrize("unsafe", [
    {"secret_key": "short"},
    {"secret_key": "k" * 40, "public_url": "http://clipdex.example.com"},
    {"secret_key": "k" * 40, "public_url": "https://clipdex.example.com", "media_sandbox": "off"},
])
def test_the_prod_refusals_the_page_promises(unsafe):
    with pytest.raises(ValidationError):
        Settings(env="prod", **unsafe)
    Settings(env="prod", secret_key="k" * 40, public_url="https://clipdex.example.com")
