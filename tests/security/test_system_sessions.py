"""System (cross-tenant) sessions are named exceptions: opened for a reason, logged, counted, and only
from ``tenancy/`` and the job machinery; routes never open one."""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from clipdex.errors import UnscopedQuery
from clipdex.models import Video
from clipdex.observability import REGISTRY
from clipdex.tenancy.system import SystemReason, system_session
from tests.security.seed import seed_tenant

SRC = Path(__file__).resolve().parents[2] / "src" / "clipdex"
# Where ``db.system(...)`` may be called directly: the tenancy package (its named entry point and the
# tenant/operator services) and the job machinery (claims, leases, dispatch, housekeeping).
ALLOWED = ("tenancy/", "jobs/")


def _opens_system_session(call: ast.Call) -> bool:
    """``<...>.db.system(...)``, ``db.system(...)``, or any ``.system(reason=...)``, but not ``platform.system()``."""
    f = call.func
    if not (isinstance(f, ast.Attribute) and f.attr == "system"):
        return False
    owner = f.value
    named_db = (isinstance(owner, ast.Attribute) and owner.attr == "db") or (isinstance(owner, ast.Name)
                                                                             and owner.id == "db")
    return named_db or any(k.arg == "reason" for k in call.keywords)


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            yield node


def _sites(predicate) -> list[str]:
    return sorted(f"{p.relative_to(SRC)}:{c.lineno}" for p in SRC.rglob("*.py") for c in _calls(p) if predicate(c))


def test_system_sessions_are_opened_only_in_tenancy_and_jobs():
    sites = _sites(_opens_system_session)
    assert sites, "the scan found no system session at all: it is not looking where the code is"
    outside = [s for s in sites if not s.startswith(ALLOWED)]
    assert outside == [], f"open a system session through clipdex.tenancy.system.system_session: {outside}"


def test_routes_never_open_a_system_session():
    def in_routes(c: ast.Call) -> bool:
        name = c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", "")
        return name == "system_session" or _opens_system_session(c)

    assert [s for s in _sites(in_routes) if s.startswith("api/")] == []


def test_routes_write_no_tenant_filter_by_hand():
    """Routes load tenant rows through tenancy.access; a filter they need is ``access.owned_by``."""
    by_hand = [f"{p.relative_to(SRC)}:{n}" for p in (SRC / "api").rglob("*.py")
               for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"\.tenant_id\s*==", line)]
    assert by_hand == []


def test_the_scan_sees_an_unnamed_system_session(tmp_path):
    """The scanner's own check: it flags the shapes it is meant to forbid and ignores platform.system()."""
    code = ("with platform.db.system(reason=R) as s: pass\n"
            "with db.system(readonly=True) as s: pass\n"
            "with x.system(reason=R) as s: pass\n"
            "import platform as _platform\n_platform.system()\n")
    f = tmp_path / "probe.py"
    f.write_text(code)
    assert [c.lineno for c in _calls(f) if _opens_system_session(c)] == [1, 2, 3]


def test_a_reason_is_required(platform):
    with pytest.raises(TypeError):
        with platform.db.system():  # type: ignore[call-arg]
            pass
    with pytest.raises(TypeError):
        with platform.db.system(reason="operator"):  # a string is not a member of the closed set
            pass
    with pytest.raises(TypeError):
        platform.db.session(system=True)  # type: ignore[call-arg]  (no back door around the reason)


def _count(reason: SystemReason) -> float:
    return REGISTRY.get_sample_value("clipdex_system_sessions_total", {"reason": reason.value}) or 0.0


@pytest.mark.parametrize("reason", list(SystemReason))
def test_every_system_session_is_logged_and_counted(platform, caplog, reason):
    before = _count(reason)
    with caplog.at_level(logging.DEBUG, logger="clipdex.tenancy.system"):
        with system_session(platform, reason, readonly=True) as s:
            assert s.info["system_reason"] is reason
    records = [r for r in caplog.records if r.name == "clipdex.tenancy.system"]
    assert [getattr(r, "system_reason", None) for r in records] == [reason.value]
    assert records[0].levelno == (logging.DEBUG if reason in (SystemReason.SIGN_IN, SystemReason.SCHEDULING)
                                  else logging.INFO)
    assert _count(reason) == before + 1


def test_a_session_is_system_only_with_a_reason(platform):
    """The guard trusts the reason, not a flag: marking a bare session "system" by hand gains nothing."""
    a, b = seed_tenant(platform, "Alpha"), seed_tenant(platform, "Bravo")
    s = platform.db.session()
    try:
        s.info["system"] = True  # the flag older code set: no longer a way in
        with pytest.raises(UnscopedQuery):
            s.execute(select(Video.id))
    finally:
        s.close()
    with system_session(platform, SystemReason.OPERATOR, readonly=True) as s:
        seen = set(s.scalars(select(Video.tenant_id)))
    assert {a.tenant_id, b.tenant_id} <= seen
