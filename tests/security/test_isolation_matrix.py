"""Tenant isolation, generated from the app's route table.

Every route under /api/v1 needs an entry in ``ROUTES`` (``isolation_routes.py``) saying how to fill
it; a new route without one fails this module. Every A principal (owner, admin, member, viewer, read
key, read+write key) calls every route with tenant B's ids where the route takes ids, and each such
call must answer
exactly what the same call answers with a random id instead (so B's ids cannot be told apart from
ids that do not exist). No response may carry B's ids, names or titles, and B's rows and blobs must
be byte-for-byte the same afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from clipdex.app import API_PREFIX, create_app
from clipdex.models import Base, Face, Membership, Person, SpeakerProfile, Tenant, User, Video
from clipdex.storage import keys
from clipdex.tenancy.system import SystemReason
from tests.conftest import add_user, drain, login, make_settings, new_tenant
from tests.security.isolation_routes import ROUTES, TUS, Call, Ref, V
from tests.media import make_video

PRINCIPALS = ("owner", "admin", "member", "viewer", "key_read", "key_read_write")


def api_routes(app) -> list[tuple[str, str, APIRoute, Any]]:
    """(method, path, route, route-like) for every APIRoute mounted under /api/v1.

    FastAPI >= 0.120 keeps included routers lazily in ``app.routes``; iter_route_contexts flattens
    them with their prefixes. Older versions list the APIRoutes directly.
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        contexts = [(r, r) for r in app.routes]
    else:
        contexts = [(rc.original_route, rc) for rc in iter_route_contexts(app.routes)]
    out = []
    for original, rc in contexts:
        if isinstance(original, APIRoute) and rc.path.startswith(API_PREFIX + "/"):
            for method in sorted(rc.methods):
                out.append((method, rc.path, original, rc))
    assert out, "no API routes found: has FastAPI changed how it exposes routes?"
    return out


def check_table(app) -> list[str]:
    """Problems with ROUTES: routes without an entry, stale entries, entries that cannot fill a route."""
    problems = []
    seen = set()
    for method, path, route, _ in api_routes(app):
        seen.add((method, path))
        entry = ROUTES.get((method, path))
        if entry is None:
            problems.append(f"{method} {path}: no entry in ROUTES (say how to fill it, or why it is public/self)")
            continue
        if entry.kind not in ("foreign", "self", "public", "operator") or not entry.calls:
            problems.append(f"{method} {path}: malformed entry")
        if entry.kind != "foreign" and not entry.reason:
            problems.append(f"{method} {path}: {entry.kind} entries need a reason")
        params = {p.name for p in route.dependant.path_params}
        for call in entry.calls:
            if set(call.path) != params:
                problems.append(f"{method} {path}: fills {sorted(call.path)}, route takes {sorted(params)}")
            if route.body_field is not None and call.json is None:
                problems.append(f"{method} {path}: the route takes a JSON body and the entry gives none")
            if entry.kind == "foreign" and not call.foreign:
                problems.append(f"{method} {path}: a foreign entry whose call uses none of B's ids")
            if entry.kind == "self" and call.foreign:
                problems.append(f"{method} {path}: a self entry must not take B's ids (make it foreign)")
    for stale in sorted(set(ROUTES) - seen):
        problems.append(f"{stale[0]} {stale[1]}: entry for a route the app does not have")
    return problems


def test_route_table_covers_every_api_route(tmp_path):
    app = create_app(make_settings(tmp_path), embedded_workers=0)
    assert check_table(app) == []


def test_a_route_without_an_entry_is_reported(tmp_path):
    app = create_app(make_settings(tmp_path), embedded_workers=0)

    @app.get(f"{V}/videos/{{video_id}}/secrets")
    def new_route(video_id: uuid.UUID) -> dict:
        return {}

    assert check_table(app) == [f"GET {V}/videos/{{video_id}}/secrets: no entry in ROUTES "
                                "(say how to fill it, or why it is public/self)"]


# --- the two tenants ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("matrix-media")
    return {"shared": make_video(d / "shared.mp4", seconds=1, size="160x120"),
            "b_only": make_video(d / "b_only.mp4", seconds=1, size="160x120", tone_hz=880, pattern="smptebars")}


@dataclass
class Side:
    tenant_id: uuid.UUID
    slug: str
    refs: dict[str, str]
    headers: dict[str, dict[str, str]]  # principal kind -> Authorization header
    secrets: set[str] = field(default_factory=set)  # strings that must never reach the other tenant


def _post_video(client: TestClient, headers: dict, path: Path, filename: str, **fields) -> dict:
    with open(path, "rb") as f:
        r = client.post(f"{V}/videos", headers=headers, files={"file": (filename, f, "video/mp4")}, data=fields)
    assert r.status_code == 201, r.text
    return r.json()


def _user_id(platform, email: str) -> str:
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        return str(s.scalar(select(User.id).where(User.email == email)))


def _tus_create(client: TestClient, headers: dict, filename: str) -> str:
    meta = "filename " + base64.b64encode(filename.encode()).decode()
    r = client.post(f"{V}/uploads", headers={**headers, **TUS, "Upload-Length": "5000", "Upload-Metadata": meta})
    assert r.status_code == 201, r.text
    return r.headers["Location"].rsplit("/", 1)[1]


def _build_side(platform, client: TestClient, name: str, samples: dict[str, Path]) -> tuple[Side, dict]:
    """A tenant with a processed video, its job and artifacts, an API key, an invitation, a second
    member and an open tus upload. Returns the side and the owner's headers."""
    tag = uuid.uuid4().hex[:8]
    ctx = new_tenant(platform, client, name)
    owner = ctx.headers
    tenant_name = f"{name}-tenant-{tag}"
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        s.get(Tenant, ctx.id).name = tenant_name
    title, vtag = f"{name} secret clip {tag}", f"{name.lower()}-tag-{tag}"
    video = _post_video(client, owner, samples["shared"], f"{name.lower()}-{tag}.mp4", title=title, tags=vtag)
    member_email = f"member@{ctx.slug}.example.com"
    add_user(platform, ctx.id, member_email, "member")
    r = client.post(f"{V}/api-keys", headers=owner, json={"name": f"{name}-key-{tag}", "scopes": ["read"]})
    assert r.status_code == 201, r.text
    key = r.json()
    inv_email = f"invitee-{tag}@{ctx.slug}.example.com"
    r = client.post(f"{V}/invitations", headers=owner, json={"email": inv_email, "role": "member"})
    assert r.status_code == 201, r.text
    inv = r.json()
    upload_name = f"{name.lower()}-upload-{tag}.mp4"
    refs = {
        "tenant": str(ctx.id), "tenant_slug": ctx.slug, "video": video["id"], "video_title": title, "video_tag": vtag,
        "api_key": key["id"], "invitation": inv["id"], "member": _user_id(platform, member_email),
        "owner": _user_id(platform, ctx.email), "owner_email": ctx.email,
        "upload": _tus_create(client, owner, upload_name),
    }
    secrets = {str(ctx.id), ctx.slug, tenant_name, title, vtag, key["id"], key["prefix"], key["name"], inv["id"],
               inv_email, member_email, ctx.email, refs["member"], refs["owner"], refs["upload"], upload_name,
               video["id"], f"{name.lower()}-{tag}.mp4"}
    return Side(ctx.id, ctx.slug, refs, {"owner": owner}, secrets), owner


def _finish_side(platform, client: TestClient, side: Side, owner: dict, name: str, samples) -> None:
    """After the pipeline ran: record the job and artifacts, and queue a second, unprocessed video."""
    v = client.get(f"{V}/videos/{side.refs['video']}", headers=owner).json()
    assert v["status"] == "ready" and v["artifacts"], v
    side.refs["job"] = v["job"]["id"]
    side.refs["artifact"] = v["artifacts"][0]["id"]
    side.secrets |= {v["job"]["id"], *(a["id"] for a in v["artifacts"])}
    # a gallery person with one face (the clip has none to find)
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        person = Person(tenant_id=side.tenant_id, name=f"{name} person {uuid.uuid4().hex[:8]}", embedding=bytes(512))
        s.add(person)
        s.flush()
        face = Face(tenant_id=side.tenant_id, person_id=person.id, video_id=uuid.UUID(side.refs["video"]),
                    embedding=bytes(512))
        s.add(face)
        s.flush()
        side.refs |= {"person": str(person.id), "face": str(face.id)}
        side.secrets |= {str(person.id), str(face.id), person.name}
        voice = SpeakerProfile(tenant_id=side.tenant_id, name=f"{name} voice {uuid.uuid4().hex[:8]}",
                               embedding=bytes(1024))
        s.add(voice)
        s.flush()
        side.refs["speaker"] = str(voice.id)
        side.secrets |= {str(voice.id), voice.name}
    policy_name = f"{name.lower()}-policy-{uuid.uuid4().hex[:8]}"  # a compliance policy (issue 14)
    r = client.post(f"{V}/compliance/policies", headers=owner, json={"name": policy_name, "base": "broadcast-eu"})
    assert r.status_code == 201, r.text
    side.refs |= {"compliance_policy": r.json()["id"], "compliance_policy_name": policy_name}
    side.secrets |= {r.json()["id"], policy_name}
    side.refs |= _training_rows(platform, side, name)  # custom models (issue 13)
    if name == "Bravo":
        queued = _post_video(client, owner, samples["b_only"], "bravo-queued.mp4", title="Bravo queued clip")
        jobs = client.get(f"{V}/jobs", headers=owner, params={"video_id": queued["id"]}).json()["items"]
        side.refs |= {"queued_video": queued["id"], "queued_job": jobs[0]["id"]}
        side.secrets |= {queued["id"], jobs[0]["id"], "Bravo queued clip", "bravo-queued.mp4"}
        with platform.db.system(reason=SystemReason.OPERATOR) as s:
            side.refs["blob_key"] = s.get(Video, uuid.UUID(side.refs["video"])).blob_key


def _training_rows(platform, side: Side, name: str) -> dict:
    """A ready dataset with one item, a trained model version and a queued one (issue 13)."""
    from datetime import timedelta

    from clipdex.db.types import utcnow
    from clipdex.models import DatasetItem, TrainedModel, TrainingDataset, TrainingJob

    tag = uuid.uuid4().hex[:8]
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        ds = TrainingDataset(tenant_id=side.tenant_id, name=f"{name} dataset {tag}", status="ready",
                             counts={"items": 1, "train": 1}, selection={"video_ids": [side.refs["video"]]})
        s.add(ds)
        s.flush()
        item = DatasetItem(tenant_id=side.tenant_id, dataset_id=ds.id, video_id=uuid.UUID(side.refs["video"]),
                           question=f"{name} question {tag}?", answer=f"{name} answer {tag}")
        done = TrainedModel(tenant_id=side.tenant_id, dataset_id=ds.id, base_model="smollm2-135m", method="lora",
                            params={"max_steps": 5}, status="succeeded",
                            weights_prefix=f"tenants/{side.tenant_id}/models/{uuid.uuid4()}/weights/")
        queued = TrainedModel(tenant_id=side.tenant_id, dataset_id=ds.id, base_model="smollm2-135m", method="lora",
                              params={"max_steps": 5}, status="queued")
        s.add_all([item, done, queued])
        s.flush()
        s.add(TrainingJob(tenant_id=side.tenant_id, model_id=queued.id, not_before=utcnow() + timedelta(days=1)))
        s.flush()
        refs = {"dataset": str(ds.id), "dataset_item": str(item.id), "model": str(done.id),
                "queued_model": str(queued.id)}
    side.secrets |= set(refs.values()) | {ds.name, item.question, item.answer}
    return refs


@pytest.fixture
def world(platform, client, samples, monkeypatch) -> tuple[Side, Side]:
    # Sign-in is called a few dozen times; argon2's production cost (~0.5 s a hash) is not under test here.
    from argon2 import PasswordHasher

    monkeypatch.setattr("clipdex.auth.passwords._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    # The app's background flusher writes metered API calls every 10 s. Serialise it with our own
    # flushes, so B's setup calls are all written before the "before" snapshot, never during it.
    meter, lock = client.app.state.meter, threading.Lock()
    unlocked_flush = meter.flush

    def flush(db) -> None:
        with lock:
            unlocked_flush(db)

    monkeypatch.setattr(meter, "flush", flush)
    a, a_owner = _build_side(platform, client, "Alpha", samples)
    b, b_owner = _build_side(platform, client, "Bravo", samples)
    assert drain(platform) >= 6
    _finish_side(platform, client, a, a_owner, "Alpha", samples)
    _finish_side(platform, client, b, b_owner, "Bravo", samples)
    for role in ("admin", "member", "viewer"):
        email = f"{role}-2@{a.slug}.example.com"
        add_user(platform, a.tenant_id, email, role)
        a.headers[role] = {"Authorization": f"Bearer {login(client, email, tenant=a.slug)['access_token']}"}
    for kind, scopes in (("key_read", ["read"]), ("key_read_write", ["read", "write"])):
        r = client.post(f"{V}/api-keys", headers=a_owner, json={"name": kind, "scopes": scopes})
        assert r.status_code == 201, r.text
        a.headers[kind] = {"Authorization": f"Bearer {r.json()['secret']}"}
    return a, b


# --- snapshot of B --------------------------------------------------------------------------

def snapshot(platform, side: Side) -> dict[str, Any]:
    """B's rows in every table that can hold them, its blobs, and its tus staging file."""
    tid = side.tenant_id
    out: dict[str, Any] = {}
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        member_ids = select(Membership.user_id).where(Membership.tenant_id == tid)
        for table in Base.metadata.sorted_tables:
            if "tenant_id" in table.c:
                q = select(table).where(table.c.tenant_id == tid)
            elif table.name == "tenants":
                q = select(table).where(table.c.id == tid)
            elif table.name == "users":
                q = select(table).where(table.c.id.in_(member_ids))
            else:
                continue
            out[table.name] = sorted(repr(sorted(dict(r._mapping).items())) for r in s.execute(q))
    blobs = {}
    for key in sorted(platform.blobs.list_prefix(keys.tenant_prefix(tid))):
        with platform.blobs.open(key) as f:
            blobs[key] = hashlib.sha256(f.read()).hexdigest()
    out["blobs"] = blobs
    staged = platform.settings.staging_dir / "tus" / side.refs["upload"]
    out["tus_staging"] = hashlib.sha256(staged.read_bytes()).hexdigest() if staged.exists() else None
    return out


# --- running the matrix ---------------------------------------------------------------------

def _control(kind: str, b: Side) -> str:
    """A value of the same shape as B's ``kind`` that names nothing."""
    if kind == "tenant_slug":
        return f"bravo-{uuid.uuid4().hex[:6]}"
    if kind in ("video_title", "video_tag"):
        return f"nothing-{uuid.uuid4().hex[:12]}"
    if kind == "forged_blob_token":
        return _forged_token(keys.original(uuid.uuid4(), uuid.uuid4(), "mp4"))
    return str(uuid.uuid4())


def _forged_token(key: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"k": key, "e": 4102444800, "f": "x", "t": "video/mp4"}).encode())
    return payload.decode().rstrip("=") + "." + base64.urlsafe_b64encode(b"\0" * 32).decode().rstrip("=")


def _resolver(a: Side, b: Side, use_b: bool):
    controls: dict[str, str] = {}

    def resolve(v):
        if isinstance(v, Ref):
            if not v.foreign:
                return a.refs[v.kind[2:]]
            if v.kind == "forged_blob_token":
                return _forged_token(b.refs["blob_key"]) if use_b else controls.setdefault(v.kind, _control(v.kind, b))
            return b.refs[v.kind] if use_b else controls.setdefault(v.kind, _control(v.kind, b))
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return v

    return resolve


def _send(client: TestClient, method: str, path: str, call: Call, headers: dict, resolve, samples):
    url = path.format(**{k: resolve(v) for k, v in call.path.items()})
    kw: dict[str, Any] = {"headers": {**headers, **call.headers}}
    if call.query:
        kw["params"] = resolve(call.query)
    if call.json is not None:
        kw["json"] = resolve(call.json)
    if call.content is not None:
        kw["content"] = call.content
    if call.upload:
        with open(samples[call.upload], "rb") as f:
            kw["files"] = {"file": ("alpha-upload.mp4", f.read(), "video/mp4")}
    return client.request(method, url, **kw)


def _outcome(r) -> tuple[int, Any]:
    """Status and body, without the per-request id."""
    ctype = r.headers.get("content-type", "")
    if "json" in ctype and r.content:  # HEAD answers carry the type but no body
        body = r.json()
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "request_id"}
        return r.status_code, body
    return r.status_code, r.content


def _leaked(r, secrets: set[str]) -> list[str]:
    text = r.content.decode("utf-8", "replace").lower()
    head = " ".join(f"{k}: {v}" for k, v in r.headers.items() if k.lower() != "x-request-id").lower()
    return sorted(s for s in secrets if s.lower() in text or s.lower() in head)


def _changes(before: dict, after: dict) -> list[str]:
    out = []
    for part in sorted(set(before) | set(after)):
        old, new = before.get(part), after.get(part)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list):
            gone, added = [r for r in old if r not in new], [r for r in new if r not in old]
            out.append(f"B's {part} changed: gone {str(gone)[:600]} added {str(added)[:600]}")
        elif isinstance(old, dict) and isinstance(new, dict):
            keys_ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            out.append(f"B's {part} changed: {keys_[:10]}")
        else:
            out.append(f"B's {part} changed: {old!r} -> {new!r}")
    return out


def test_tenant_isolation_matrix(platform, client, world, samples):
    a, b = world
    problems = check_table(client.app)
    assert problems == [], "\n".join(problems)

    meter = client.app.state.meter
    meter.flush(platform.db)  # B's own setup calls are metered to B: settle them before the snapshot
    before = snapshot(platform, b)

    leaks: list[str] = []
    calls = 0
    for method, path, _route, _ in api_routes(client.app):
        entry = ROUTES[(method, path)]
        for principal in PRINCIPALS:
            headers = a.headers[principal]
            for i, call in enumerate(entry.calls):
                where = f"{principal} {method} {path} #{i}"
                if call.foreign:
                    got_b = _send(client, method, path, call, headers, _resolver(a, b, True), samples)
                    got_c = _send(client, method, path, call, headers, _resolver(a, b, False), samples)
                    calls += 2
                    if _outcome(got_b) != _outcome(got_c):
                        leaks.append(f"{where}: B's id answers {str(_outcome(got_b))[:300]}, "
                                     f"a random id {str(_outcome(got_c))[:300]}")
                    responses = (got_b, got_c)
                else:
                    responses = (_send(client, method, path, call, headers, _resolver(a, b, True), samples),)
                    calls += 1
                for r in responses:
                    if r.status_code >= 500:
                        leaks.append(f"{where}: server error {r.status_code} {r.text[:200]}")
                    if found := _leaked(r, b.secrets):
                        leaks.append(f"{where}: response carries B's {found}")
                    if entry.kind == "operator" and _outcome(r)[0:1] + (_outcome(r)[1].get("code"),) != (
                            403, "auth.operator_only"):
                        leaks.append(f"{where}: operator route answered {r.status_code} {r.text[:200]}")

    meter.flush(platform.db)
    after = snapshot(platform, b)
    leaks += _changes(before, after)

    assert calls > 400  # the matrix really ran
    assert len(leaks) == 0, f"{len(leaks)} isolation failures:\n" + "\n".join(leaks[:40])
