"""The error catalogue is the one place codes live: every code used in src is a class there, with one
owner each, raised as that class (never as ``code=``/``status=`` at the raise), and docs/errors.md
is exactly what the catalogue renders.

The source checks read ``src/clipdex`` with ``ast`` (no imports of the heavy analyzers): a failure
lists ``file:line`` for each offender.
"""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import clipdex.errors as errors
from clipdex.api import problems
from clipdex.errors import base, docs

SRC = Path(errors.__file__).resolve().parents[1]
REPO = SRC.parents[1]
CODE_RE = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
# Functions that record an error code on a job row (positional string arguments are codes).
RECORDERS = {"_finish_failed", "fail_job", "_finish", "_failed"}
# ``base.ClipdexError.__new__`` forwards a legacy ``code=`` to the class that owns it: the one allowed use.
ALLOWED_CODE_KWARG = {("errors/base.py", "__new__")}


def _error_names() -> set[str]:
    return {n for n in errors.__all__ if isinstance(getattr(errors, n), type)
            and issubclass(getattr(errors, n), (errors.ClipdexError, errors.TransientError))}


def _families() -> set[str]:
    """Classes that own no code: fine in ``except``, never raised or built."""
    return {n for n in _error_names() if issubclass(getattr(errors, n), errors.ClipdexError)
            and not base.catalogued(getattr(errors, n))}


def _modules(skip_errors: bool = True):
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if skip_errors and rel.startswith("errors/"):
            continue
        yield rel, ast.parse(path.read_text(), filename=rel)


def _func_name(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _code_literals():
    """(where, code) for every error-code string in src outside the catalogue."""
    for rel, tree in _modules():
        for n in ast.walk(tree):
            found: list[ast.expr] = []
            if isinstance(n, ast.Call):
                found += [k.value for k in n.keywords if k.arg in ("code", "error_code")]
                if _func_name(n) in RECORDERS:  # their codes are literals; messages may be f-strings
                    found += [a for a in n.args if isinstance(a, ast.Constant)]
            elif isinstance(n, ast.Assign):
                for t in n.targets:
                    pairs = zip(t.elts, n.value.elts) if isinstance(t, ast.Tuple) and isinstance(
                        n.value, ast.Tuple) else [(t, n.value)]
                    found += [v for tt, v in pairs if isinstance(tt, ast.Attribute) and tt.attr == "error_code"]
            elif isinstance(n, ast.Dict):
                found += [v for k, v in zip(n.keys, n.values) if isinstance(k, ast.Constant) and k.value == "code"]
            for v in found:
                if isinstance(v, ast.JoinedStr):
                    yield f"{rel}:{v.lineno}", f"<f-string {ast.unparse(v)}>"
                elif isinstance(v, ast.Constant) and isinstance(v.value, str) and CODE_RE.match(v.value):
                    yield f"{rel}:{v.lineno}", v.value


def test_every_code_used_in_src_is_catalogued():
    catalogue = errors.by_code()
    used = list(_code_literals())
    assert len(used) > 5, "the scan found no code literals: it is broken"
    missing = [f"{where}: {code}" for where, code in used if code not in catalogue]
    assert not missing, "codes used in src but missing from clipdex/errors/:\n" + "\n".join(missing)


def test_every_catalogued_code_is_used_in_src():
    """A code no code path can produce would only mislead the readers of docs/errors.md."""
    used = {code for _, code in _code_literals()}
    names: set[str] = set()
    for _, tree in _modules():
        for n in ast.walk(tree):
            names |= {n.id} if isinstance(n, ast.Name) else {n.attr} if isinstance(n, ast.Attribute) else \
                {n.name} if isinstance(n, ast.alias) else set()
    dead = [f"{code} ({cls.__name__})" for code, cls in errors.by_code().items()
            if code not in used and cls.__name__ not in names]
    assert not dead, "catalogued but never raised or recorded in src:\n" + "\n".join(dead)


def test_no_two_classes_share_a_code():
    owners: dict[str, list[str]] = {}
    for cls in base.registered():
        owners.setdefault(cls.code, []).append(f"{cls.__module__}.{cls.__qualname__}")
    shared = {code: names for code, names in owners.items() if len(names) > 1}
    assert not shared, shared


def test_no_inline_code_or_status_at_raise_sites():
    """``X(detail, code=..., status=...)`` invents codes outside the catalogue: raise the class instead.

    Expected to fail while analyzers/ still raises that way (their conversion is the pipeline work).
    """
    names = _error_names() | {"ClipdexError"}
    bad = []
    for rel, tree in _modules(skip_errors=False):
        scopes = {c: f.name for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for c in ast.walk(f) if isinstance(c, ast.Call)}
        for n in ast.walk(tree):
            if not isinstance(n, ast.Call) or (rel, scopes.get(n)) in ALLOWED_CODE_KWARG:
                continue
            kws = {k.arg for k in n.keywords}
            if "code" in kws or ("status" in kws and _func_name(n) in names):
                given = ", ".join(sorted(kws & {"code", "status"}))
                bad.append(f"{rel}:{n.lineno}: {ast.unparse(n.func)}(... {given}=)")
    assert not bad, "raise the catalogued class instead of passing code=/status=:\n" + "\n".join(bad)


def test_families_are_never_raised_directly():
    families = _families()
    bad = [f"{rel}:{n.lineno}: {ast.unparse(n.func)}(...)" for rel, tree in _modules() for n in ast.walk(tree)
           if isinstance(n, ast.Call) and _func_name(n) in families and not any(k.arg == "code" for k in n.keywords)]
    assert not bad, "these classes own no code; raise a catalogued subclass:\n" + "\n".join(bad)


def test_error_classes_are_defined_only_in_the_catalogue():
    names = _error_names() | {"ClipdexError", "TransientError"}
    bad = [f"{rel}:{n.lineno}: class {n.name}" for rel, tree in _modules() for n in ast.walk(tree)
           if isinstance(n, ast.ClassDef) and any(ast.unparse(b).rsplit(".", 1)[-1] in names for b in n.bases)]
    assert not bad, "define error classes in clipdex/errors/<domain>.py:\n" + "\n".join(bad)


def test_every_entry_is_complete_and_consistent():
    for code, cls in errors.by_code().items():
        assert CODE_RE.match(code) or code == "internal", code
        assert cls.__module__.startswith("clipdex.errors."), cls
        assert 400 <= cls.status < 600 and all(400 <= s < 600 for s in cls.alt_statuses), cls
        assert cls.title and cls.hint and isinstance(cls.retryable, bool), cls
        if cls.status >= 500:  # our side failed: the same request may work later
            assert cls.retryable, cls
        if issubclass(cls, errors.MediaRejected):  # the file is the problem: retrying cannot help
            assert not cls.retryable, cls
    assert errors.TransientError.retryable and errors.ToolTimeout.retryable
    assert not errors.UploadTooLarge.retryable and errors.ConcurrentJobsLimit.retryable


def test_docs_page_is_generated_from_the_catalogue():
    page = (REPO / "docs" / "errors.md").read_text()
    assert page == docs.render(), "docs/errors.md is stale: run `python -m clipdex.errors.docs`"
    for code in errors.by_code():
        assert f"| `{code}` |" in page, code


def test_legacy_code_kwarg_becomes_the_catalogued_class():
    with pytest.warns(errors.InlineErrorCode, match="raise its class"):
        e = errors.Conflict("Already there.", code="video.duplicate", status=422, existing_id="v1")
    assert type(e) is errors.DuplicateVideo
    assert (e.status, e.code, e.title) == (409, "video.duplicate", "Duplicate video")
    assert e.extensions == {"existing_id": "v1"} and e.detail == "Already there."
    with pytest.warns(errors.InlineErrorCode, match="not in the catalogue"):
        odd = errors.MediaRejected("No streams.", code="media.not_a_real_code")
    assert (type(odd), odd.code, odd.status, odd.retryable) == (
        errors.MediaRejected, "media.not_a_real_code", 422, False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert errors.UploadExpired("Gone.").status == 410  # the normal way warns about nothing


def _app() -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.get("/size/{size}")
    def size(size: int):
        raise errors.UploadSizeMismatch(size, 10)

    @app.get("/busy")
    def busy():
        raise errors.ConcurrentJobsLimit("At most 2 jobs.", headers={"Retry-After": "60"})

    @app.get("/missing")
    def missing():
        raise errors.NotFound()

    return TestClient(app, raise_server_exceptions=False)


def test_problem_body_carries_the_class_code_and_title():
    client = _app()
    for size, status in ((11, 413), (9, 422)):
        r = client.get(f"/size/{size}")
        body = r.json()
        assert (r.status_code, body["status"], body["code"]) == (status, status, "upload.size_mismatch")
        assert body["title"] == errors.UploadSizeMismatch.title and body["type"].endswith("/upload.size_mismatch")
        assert r.headers["content-type"].startswith("application/problem+json")
    r = client.get("/busy")
    assert (r.status_code, r.json()["code"], r.json()["title"], r.headers["retry-after"]) == (
        429, "quota.concurrent_jobs", "Too many jobs at once", "60")
    assert client.get("/missing").json()["detail"] == "The requested resource was not found."
    r = client.get("/no/such/route")  # the framework's 404 renders from the same class
    assert (r.status_code, r.json()["code"], r.json()["title"]) == (404, "resource.not_found", errors.NotFound.title)
    r = client.post("/busy")
    assert (r.status_code, r.json()["code"]) == (405, "request.method_not_allowed")
