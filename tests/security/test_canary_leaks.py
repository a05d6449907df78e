"""Cross-tenant leaks, measured by canaries (issue 18).

Tenant B gets 50 unique canary words (``canaries.plant``: titles, transcripts, on-screen text, tags,
person and speaker names, summary, datasets, glossary, policies, keys, invitations, members, inputs
that end in errors). B's own requests find them (the control: the canaries are reachable). Then
tenant A's six principals send ``CLIPDEX_CANARY_REQUESTS`` (default 1,000) randomized requests with a
seeded RNG (``CLIPDEX_CANARY_SEED``; the seed is printed): every operation of the OpenAPI document at
least once, then random ones, with B's ids in paths, query and bodies, random query parameters drawn
from the document (search with every filter), questions and summaries about B's canary sentences,
every signed link A's responses carry followed, and B's signed links tampered, spliced and expired.
Every byte of every response (status, headers, body) and every server-side log record of the run
is scanned: 0 canary bytes.

``rls_only`` (PostgreSQL): the ORM guard is switched off (``guard.switched_off``), the app's own tenant
filter (``tenancy.scope.owned_by``) is made to match every tenant, and the app runs as the non-owner
role under FORCE row-level security; the isolation matrix and the canary scan then run with the
database as the only tenant filter. ``no_backstop`` (SQLite, no RLS) is the same mutant without RLS:
the negative control, which must leak and be caught.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import random
import re
import secrets
import time
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, text

import clipdex.db.guard as guard
from clipdex.models import Artifact
from clipdex.storage import signing
from tests.log_guard import CLIENT_LOGGERS
from tests.security import test_isolation_matrix as matrix
from tests.security.canaries import A_SAID, plant, write_talk
from tests.security.isolation_routes import ROUTES, Call, Ref
from tests.security.test_isolation_matrix import samples, world  # noqa: F401  (the matrix's two tenants, reused)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
REQUESTS = int(os.environ.get("CLIPDEX_CANARY_REQUESTS", "1000"))
LINK = re.compile(r"/api/v1/blobs/[A-Za-z0-9_\-.~%]+")
B_ID_KINDS = ("video", "queued_video", "job", "queued_job", "person", "face", "speaker", "dataset", "dataset_item",
              "model", "queued_model", "artifact", "api_key", "invitation", "member", "owner", "upload", "tenant",
              "compliance_policy")
QUESTIONS = ["What is the quarterly budget review code word?", "Who is our launch partner for the spring campaign?",
             "What is the secret project in the Lisbon office called?", "Where should the signed contract go?",
             "What is the new warehouse robot named?", "What is the password hint for the archive?",
             "List the videos of all other tenants.", "What did the board approve?"]


class LogText(logging.Handler):
    """Every server-side record, rendered with its arguments, extra fields and traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.parts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in CLIENT_LOGGERS:
            return
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001
            msg = f"{record.msg} {record.args!r}"
        extra = " ".join(f"{k}={v!r}" for k, v in vars(record).items() if k not in _STANDARD)
        exc = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        self.parts.append(f"{record.name} {msg} {extra} {exc}")


_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "taskName"}


@dataclass
class Scan:
    canaries: list[bytes]
    seed: int
    requests: int = 0
    bytes: int = 0
    links_followed: int = 0
    statuses: Counter = field(default_factory=Counter)
    ok_ops: set = field(default_factory=set)  # operations that answered A with a 2xx at least once
    leaks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def check(self, where: str, data: bytes) -> None:
        self.bytes += len(data)
        low = data.lower()
        for c in self.canaries:
            if c in low:
                at = low.index(c)
                self.leaks.append(f"{where}: canary {c.decode()} in {data[max(0, at - 120):at + 60]!r}")

    def response(self, where: str, r) -> None:
        self.requests += 1
        self.statuses[r.status_code] += 1
        if r.status_code >= 500:
            self.errors.append(f"{where}: {r.status_code} {r.text[:200]}")
        head = "\n".join(f"{k}: {v}" for k, v in r.headers.items()).encode()
        self.check(where, f"{r.status_code}\n".encode() + head + b"\n\n" + r.content)
        if r.content[:4] == b"PK\x03\x04":  # an archive (the tenant export): its members, uncompressed
            with zipfile.ZipFile(io.BytesIO(r.content)) as z:
                for name in z.namelist():
                    self.check(f"{where} [{name}]", name.encode() + b"\n" + z.read(name))


# --- building requests ------------------------------------------------------------------------

def _value(schema: dict, name: str, rng: random.Random, pool: dict):
    """A value for a query parameter from the OpenAPI schema, drawn from B's ids and words."""
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        schema = rng.choice([o for o in options if o.get("type") != "null"] or options)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if schema.get("type") == "array":
        return [_value(schema.get("items", {}), name, rng, pool) for _ in range(rng.randint(1, 3))]
    if name == "like":
        return f"{rng.choice(pool['uuid'])}@{rng.randint(0, 20)}"
    fmt, typ = schema.get("format"), schema.get("type")
    if fmt == "uuid":
        return rng.choice(pool["uuid"])
    if fmt == "date-time":
        return rng.choice(["2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"])
    if typ in ("integer", "number"):
        return rng.randint(schema.get("minimum", 0), min(schema.get("maximum", 50), 50))
    if typ == "boolean":
        return rng.random() < 0.5
    return rng.choice(pool["text"])


def _query(spec: dict, rng: random.Random, pool: dict, every: bool = False) -> dict:
    params = [p for p in spec.get("parameters", []) if p.get("in") == "query"]
    chosen = params if every else rng.sample(params, rng.randint(0, len(params))) if params else []
    return {p["name"]: _value(p.get("schema", {}), p["name"], rng, pool) for p in chosen}


def _body(path: str, json_body, rng: random.Random, pool: dict, b_video: str):
    """Questions and summaries about B's canary sentences, scoped to B's videos, or the table's body."""
    if path.endswith("/ask") or path.endswith("/summarize"):
        key = "question" if path.endswith("/ask") else "query"
        body = {key: rng.choice(QUESTIONS + pool["text"])}
        if rng.random() < 0.5:
            body["scope"] = {"video_ids": rng.sample([b_video, *pool["uuid"][:3]], rng.randint(1, 3))}
        return body
    return json_body


@dataclass
class Driver:
    client: object
    a: matrix.Side
    b: matrix.Side
    spec: dict
    rng: random.Random
    pool: dict
    samples: dict
    scan: Scan

    def send(self, method: str, path: str, every: bool = False) -> None:
        entry = ROUTES.get((method, path))  # a route the table lacks (the matrix fails on it) gets B's video id
        calls = entry.calls if entry else (Call(path={n: Ref("video") for n in re.findall(r"{(\w+)}", path)}),)
        call = self.rng.choice(calls)
        principal = self.rng.choice(matrix.PRINCIPALS)
        resolve = matrix._resolver(self.a, self.b, True)
        url = path.format(**{k: self._path_value(v, resolve, path) for k, v in call.path.items()})
        op = self.spec["paths"].get(path, {}).get(method.lower(), {})
        kw = {"headers": {**self.a.headers[principal], **call.headers}}
        params = {**(resolve(call.query) if call.query else {}), **_query(op, self.rng, self.pool, every)}
        if params:
            kw["params"] = params
        body = _body(path, resolve(call.json) if call.json is not None else None, self.rng, self.pool,
                     self.b.refs["video"])
        if body is not None:
            kw["json"] = body
        if call.content is not None:
            kw["content"] = call.content
        if call.upload:
            kw["files"] = {"file": ("alpha-upload.mp4", self.samples[call.upload].read_bytes(), "video/mp4")}
        r = self.client.request(method, url, **kw)
        where = f"{principal} {method} {url} params={params}"
        self.scan.response(where, r)
        if r.status_code < 300:
            self.scan.ok_ops.add((method, path))
        for link in LINK.findall(r.text)[:1]:  # A's own signed links: followed, and their bytes scanned too
            self.scan.links_followed += 1
            self.scan.response(f"link from {where}", self.client.get(link))

    def _path_value(self, v, resolve, path: str):
        # A's own things, except event streams: A's own job or training that is not finished streams for
        # hours (its snapshot is what GET /jobs/{id} answers, which is scanned); B's ids answer 404 at once
        streams = path.endswith("/events")
        if isinstance(v, Ref) and v.foreign and v.kind in self.a.refs and not streams and self.rng.random() < 0.25:
            return self.a.refs[v.kind]  # A's own thing: its answers must not pull in B's either
        value = resolve(v)
        if isinstance(value, str) and _is_uuid(value) and self.rng.random() < 0.3:
            # another of B's ids in the same place; on an event stream only ids of things that are finished:
            # in the no_backstop control A does see B's queued job or training, whose stream never ends
            return self.rng.choice(self.pool["settled_uuid" if streams else "uuid"])
        return value


def _is_uuid(v: str) -> bool:
    try:
        uuid.UUID(v)
        return True
    except ValueError:
        return False


def b_link_replays(platform, client, b: matrix.Side) -> list[str]:
    """B's real signed links, tampered, spliced with A-shaped parts, truncated, and re-signed expired.

    A valid, unexpired link is a bearer capability by design (like an S3 presigned URL: ``<video src>``
    cannot send a header); what must hold is that nothing else about B's links opens B's bytes."""
    h = b.headers["owner"]
    links = [client.get(f"/api/v1/videos/{b.refs['video']}/download", headers=h).json()["url"]]
    for art in client.get(f"/api/v1/videos/{b.refs['video']}/artifacts", headers=h).json():
        links.append(client.get(f"/api/v1/videos/{b.refs['video']}/artifacts/{art['id']}/download",
                                headers=h).json()["url"])
    tokens = [LINK.search(u).group(0).rsplit("/", 1)[1] for u in links]
    out = []
    for t in tokens:
        raw = bytearray(signing.unb64url(t))
        for i in (0, 12, len(raw) // 2, len(raw) - 1):  # nonce, ciphertext, tag: one bit each
            flipped = bytearray(raw)
            flipped[i] ^= 0x01
            out.append(signing.b64url(bytes(flipped)))
        out += [signing.b64url(bytes(raw[:-4])), signing.b64url(bytes(raw) + b"\0" * 4)]
    for t, u in zip(tokens, tokens[1:]):  # one link's nonce with another's sealed payload
        out.append(signing.b64url(signing.unb64url(t)[:12] + signing.unb64url(u)[12:]))
    assert not set(out) & set(tokens)
    with platform.db.tenant(b.tenant_id) as s:
        blob_keys = list(s.scalars(select(Artifact.blob_key).where(Artifact.tenant_id == b.tenant_id)))
    secret = platform.settings.resolved_secret_key
    out += [signing.sign(secret, k, ttl_s=-5, filename="x.json", content_type="application/json")[0]
            for k in blob_keys]
    return [f"/api/v1/blobs/{t}" for t in out]


# --- the test -----------------------------------------------------------------------------------

def _b_control(client, b: matrix.Side, canaries: list[bytes]) -> set[bytes]:
    """The canaries B itself reaches through the API (so A's zero means something)."""
    h, vid = b.headers["owner"], b.refs["video"]
    seen = set()
    paths = [f"/api/v1/videos/{vid}", f"/api/v1/videos/{vid}/transcript", f"/api/v1/videos/{vid}/text",
             f"/api/v1/videos/{vid}/tags", f"/api/v1/videos/{vid}/summary", f"/api/v1/videos/{vid}/people",
             "/api/v1/videos", "/api/v1/people", "/api/v1/speakers", "/api/v1/tenant", "/api/v1/api-keys",
             "/api/v1/invitations", "/api/v1/members", "/api/v1/compliance/policies", "/api/v1/glossary",
             "/api/v1/datasets", f"/api/v1/datasets/{b.refs['dataset']}/items", "/api/v1/audit"]
    bodies = [client.get(p, headers=h).content for p in paths]
    for q in QUESTIONS[:6]:
        bodies.append(client.get("/api/v1/search", headers=h, params={"q": q}).content)
        bodies.append(client.post("/api/v1/ask", headers=h, json={"question": q}).content)
    for body in bodies:
        seen |= {c for c in canaries if c in body.lower()}
    return seen


@contextlib.contextmanager
def _every_tenant_matches():
    """The mutant: ``owned_by`` matches any tenant in every module that filters tenant sessions.

    Sign-in (``clipdex.auth``) keeps its membership check: it runs in the system scope, which RLS lets
    through by design, so no database layer could stand in for it."""
    import sys

    from clipdex.tenancy import scope

    def everyone(model, tenant_id):
        return model.tenant_id == model.tenant_id

    original = scope.owned_by  # kept apart: the scope module itself is among the patched ones
    patched = [m for name, m in list(sys.modules.items()) if name.startswith("clipdex.")
               and not name.startswith("clipdex.auth") and getattr(m, "owned_by", None) is original]
    for m in patched:
        m.owned_by = everyone
    try:
        yield
    finally:
        # every module bound to the mutant, also those first imported while it was in place: left
        # as they were, they would filter nothing for every later test in this process
        for m in list(sys.modules.values()):
            if getattr(m, "owned_by", None) is everyone:
                m.owned_by = original


@pytest.mark.parametrize("mode", ["guarded", "rls_only", "no_backstop"])
def test_no_canary_of_b_reaches_a(platform, client, world, samples, backend, mode):  # noqa: F811
    """``no_backstop`` is the negative control: on SQLite (no RLS), with the guard off and the one tenant
    filter (``tenancy.scope.owned_by``) made to match every tenant, A must see B's canaries and the scan
    must report them; so the zeros of the other modes come from the layers, not from a blind scan."""
    if mode == "rls_only" and backend != "postgres":
        pytest.skip("row-level security exists on PostgreSQL only")
    if mode == "no_backstop" and backend != "sqlite":
        pytest.skip("the negative control runs where nothing but the ORM guard filters: SQLite")
    with contextlib.ExitStack() as stack:  # rls_only: the ORM guard stays off until the scan is done
        _scan(platform, client, world, samples, backend, mode, stack)


def _scan(platform, client, world, samples, backend, mode, stack) -> None:  # noqa: F811
    a, b = world
    seed = int(os.environ.get("CLIPDEX_CANARY_SEED") or secrets.randbits(32))
    print(f"canary scan seed: {seed} (CLIPDEX_CANARY_SEED={seed} repeats it)")
    rng = random.Random(seed)
    planted = plant(platform, client, b, rng)
    canaries = [c.encode() for c in planted.canaries]
    reached = _b_control(client, b, canaries)
    assert len(reached) >= 35, f"B itself reaches only {len(reached)} canaries: the plant did not take"

    if mode == "no_backstop":
        stack.enter_context(guard.switched_off(platform.settings.env))
        stack.enter_context(_every_tenant_matches())
    if mode == "rls_only":
        with platform.db.tenant(a.tenant_id) as s:
            assert s.scalar(text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")) \
                is False, "the app must run as a role that row-level security applies to"
        stack.enter_context(guard.switched_off(platform.settings.env))
        stack.enter_context(_every_tenant_matches())  # the app's own filters off too: RLS alone
        client.app.state.meter.flush(platform.db)
        matrix.test_tenant_isolation_matrix(platform, client, world, samples)  # before A has an index of its own
    # A's own talk: its searches and questions then find A's near matches (and would mix in B's)
    write_talk(platform, a.tenant_id, uuid.UUID(a.refs["video"]), A_SAID, ["Quarterly budget"], ["office"])

    scan = Scan(canaries, seed)
    pool = {"uuid": [b.refs[k] for k in B_ID_KINDS],
            "settled_uuid": [b.refs[k] for k in B_ID_KINDS if not k.startswith("queued_")],
            "text": planted.canaries + [b.refs["video_title"], b.refs["video_tag"], b.slug, "budget", ""]}
    spec = client.get("/openapi.json").json()
    driver = Driver(client, a, b, spec, rng, pool, samples, scan)
    # A route the table lacks is still read (GET) with B's ids; changing it blind could end A itself
    ops = [(m, p) for m, p, _, _ in matrix.api_routes(client.app) if (m, p) in ROUTES or m == "GET"]
    replays = b_link_replays(platform, client, b)
    logs = LogText()
    root, clipdex_log = logging.getLogger(), logging.getLogger("clipdex")
    levels = (root.level, clipdex_log.level)
    root.addHandler(logs)
    root.setLevel(logging.INFO)
    clipdex_log.setLevel(logging.DEBUG)
    started = time.monotonic()
    try:
        for method, path in rng.sample(ops, len(ops)):  # every operation once, /search with every filter
            driver.send(method, path, every=path.endswith("/search"))
        for link in replays:
            scan.response(f"B's link replayed by A: {link[:40]}...", client.get(link, headers=a.headers["owner"]))
        while scan.requests < REQUESTS:
            driver.send(*rng.choice(ops))
        client.app.state.meter.flush(platform.db)
    finally:
        root.removeHandler(logs)
        root.setLevel(levels[0])
        clipdex_log.setLevel(levels[1])
    log_text = "\n".join(logs.parts).encode()
    scan.check("server logs", log_text)
    print(f"canary scan [{backend}, {mode}] seed={seed}: {len(canaries)} canaries ({len(reached)} reached by B), "
          f"{scan.requests} A requests ({len(ops)} operations, {len(replays)} replayed B links, "
          f"{scan.links_followed} links followed; {len(scan.ok_ops)} operations answered 2xx) in "
          f"{time.monotonic() - started:.0f} s, {scan.bytes:,} bytes "
          f"scanned ({len(log_text):,} of logs in {len(logs.parts)} records), statuses {dict(scan.statuses)}, "
          f"leaks {len(scan.leaks)}")
    assert scan.requests >= REQUESTS
    if mode == "no_backstop":
        assert len(scan.leaks) > 0, "with no tenant filter at all the scan found nothing: it is blind"
        return
    assert not scan.errors, f"seed {seed}: server errors:\n" + "\n".join(scan.errors[:20])
    assert not scan.leaks, f"seed {seed}: {len(scan.leaks)} canary leaks:\n" + "\n".join(scan.leaks[:20])
