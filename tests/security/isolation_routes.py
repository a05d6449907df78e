"""The route table of the tenant-isolation matrix: how to call every /api/v1 route.

Every route under /api/v1 needs an entry in ``ROUTES`` (``test_isolation_matrix`` fails otherwise).
``foreign`` routes take ids and are called with tenant B's ids; ``own`` routes act on the caller's
tenant only; ``public`` routes carry their credential in the request; ``operator`` routes are for
platform operators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.conftest import PASSWORD

TUS = {"Tus-Resumable": "1.0.0"}


# --- the route table ------------------------------------------------------------------------

@dataclass(frozen=True)
class Ref:
    """A value filled in per call: ``kind`` is one of B's things (compared against a random value
    of the same shape), ``a:kind`` one of A's own (the same in both calls)."""

    kind: str

    @property
    def foreign(self) -> bool:
        return not self.kind.startswith("a:")


@dataclass(frozen=True)
class Call:
    path: dict[str, Ref] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    upload: str | None = None  # name of a sample file sent as multipart field "file"

    def refs(self) -> list[Ref]:
        found: list[Ref] = []

        def walk(v):
            if isinstance(v, Ref):
                found.append(v)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, (list, tuple)):
                for x in v:
                    walk(x)

        walk([self.path, self.query, self.json])
        return found

    @property
    def foreign(self) -> bool:
        return any(r.foreign for r in self.refs())


@dataclass(frozen=True)
class Entry:
    """``kind``: foreign (takes ids; B's are put in), self (acts on the caller's own tenant only, no ids),
    public (no bearer needed; the credential is in the request), operator (platform operators only)."""

    kind: str
    calls: tuple[Call, ...]
    reason: str = ""


def foreign(*calls: Call) -> Entry:
    return Entry("foreign", calls)


def own(reason: str, *calls: Call) -> Entry:
    return Entry("self", calls or (Call(),), reason)


def public(reason: str, *calls: Call) -> Entry:
    return Entry("public", calls, reason)


def operator(reason: str, *calls: Call) -> Entry:
    return Entry("operator", calls or (Call(),), reason)


R = Ref
V = "/api/v1"

ROUTES: dict[tuple[str, str], Entry] = {
    # auth
    ("POST", f"{V}/auth/login"): public(
        "password sign-in; A's owner asks for a token in B (by slug and by id)",
        Call(json={"email": R("a:owner_email"), "password": PASSWORD, "tenant": R("tenant_slug")}),
        Call(json={"email": R("a:owner_email"), "password": PASSWORD, "tenant": R("tenant")})),
    ("POST", f"{V}/auth/refresh"): public(
        "the refresh token is the credential (B's would be B's session by design); a made-up one",
        Call(json={"refresh_token": "rt_not-a-real-token"})),
    ("POST", f"{V}/auth/logout"): public(
        "the refresh token is the credential; a made-up one",
        Call(json={"refresh_token": "rt_not-a-real-token"})),
    ("POST", f"{V}/auth/switch"): foreign(Call(json={"tenant": R("tenant")}), Call(json={"tenant": R("tenant_slug")})),
    ("GET", f"{V}/auth/me"): own("the caller's own profile and memberships"),
    # team
    ("GET", f"{V}/tenant"): own("the token's tenant"),
    ("PATCH", f"{V}/tenant"): own("renames the token's tenant", Call(json={"name": "Alpha renamed"})),
    ("GET", f"{V}/members"): own("members of the token's tenant"),
    ("PATCH", f"{V}/members/{{user_id}}"): foreign(
        Call(path={"user_id": R("member")}, json={"role": "viewer"}),
        Call(path={"user_id": R("owner")}, json={"role": "viewer"})),
    ("DELETE", f"{V}/members/{{user_id}}"): foreign(
        Call(path={"user_id": R("member")}), Call(path={"user_id": R("owner")})),
    ("GET", f"{V}/invitations"): own("open invitations of the token's tenant"),
    ("POST", f"{V}/invitations"): own("invites into the token's tenant",
                                       Call(json={"email": "someone-new@alpha.example.com", "role": "viewer"})),
    ("DELETE", f"{V}/invitations/{{invitation_id}}"): foreign(Call(path={"invitation_id": R("invitation")})),
    ("POST", f"{V}/invitations/accept"): public(
        "the invitation token is the credential; a made-up one",
        Call(json={"token": "inv_not-a-real-token", "password": PASSWORD})),
    ("GET", f"{V}/api-keys"): own("keys of the token's tenant"),
    ("POST", f"{V}/api-keys"): own("creates a key in the token's tenant",
                                   Call(json={"name": "matrix", "scopes": ["read"]})),
    ("DELETE", f"{V}/api-keys/{{key_id}}"): foreign(Call(path={"key_id": R("api_key")})),
    ("GET", f"{V}/audit"): own("audit log of the token's tenant", Call(), Call(query={"action": "apikey.created"})),
    # videos
    ("POST", f"{V}/videos"): own("uploads into the token's tenant a file only B holds (dedup is per tenant)",
                                 Call(upload="b_only")),
    ("POST", f"{V}/videos/import"): own("imports into the token's tenant (a literal public address: no DNS)",
                                        Call(json={"url": "https://93.184.216.34/matrix.mp4"})),
    ("GET", f"{V}/videos"): foreign(Call(query={"q": R("video_title")}), Call(query={"tag": R("video_tag")})),
    ("GET", f"{V}/videos/{{video_id}}"): foreign(
        Call(path={"video_id": R("video")}), Call(path={"video_id": R("queued_video")})),
    ("PATCH", f"{V}/videos/{{video_id}}"): foreign(Call(path={"video_id": R("video")}, json={"title": "pwned"})),
    ("DELETE", f"{V}/videos/{{video_id}}"): foreign(
        Call(path={"video_id": R("video")}), Call(path={"video_id": R("queued_video")})),
    ("GET", f"{V}/videos/{{video_id}}/download"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/videos/{{video_id}}/artifacts"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/videos/{{video_id}}/artifacts/{{artifact_id}}/download"): foreign(
        Call(path={"video_id": R("video"), "artifact_id": R("artifact")}),
        Call(path={"video_id": R("a:video"), "artifact_id": R("artifact")}),
        Call(path={"video_id": R("video"), "artifact_id": R("a:artifact")})),
    # speech
    ("GET", f"{V}/videos/{{video_id}}/transcript"): foreign(
        Call(path={"video_id": R("video")}), Call(path={"video_id": R("video")}, query={"format": "srt"})),
    ("PATCH", f"{V}/videos/{{video_id}}/transcript/segments/{{index}}"): foreign(
        Call(path={"video_id": R("video"), "index": 0}, json={"text": "pwned"})),
    ("GET", f"{V}/videos/{{video_id}}/sound-events"): foreign(Call(path={"video_id": R("video")})),
    ("POST", f"{V}/videos/{{video_id}}/speakers/{{label}}/name"): foreign(
        Call(path={"video_id": R("video"), "label": "S1"}, json={"name": "pwned"})),
    ("GET", f"{V}/speakers"): own("the token's tenant's named voices"),
    ("DELETE", f"{V}/speakers/{{speaker_id}}"): foreign(Call(path={"speaker_id": R("speaker")})),
    # resumable uploads
    ("OPTIONS", f"{V}/uploads"): own("tus discovery", Call(headers=TUS)),
    ("POST", f"{V}/uploads"): own("creates an upload in the token's tenant",
                                  Call(headers={**TUS, "Upload-Length": "1000"})),
    ("HEAD", f"{V}/uploads/{{upload_id}}"): foreign(Call(path={"upload_id": R("upload")}, headers=TUS)),
    ("GET", f"{V}/uploads/{{upload_id}}"): foreign(Call(path={"upload_id": R("upload")}, headers=TUS)),
    ("PATCH", f"{V}/uploads/{{upload_id}}"): foreign(Call(
        path={"upload_id": R("upload")}, content=b"x" * 100,
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})),
    ("DELETE", f"{V}/uploads/{{upload_id}}"): foreign(Call(path={"upload_id": R("upload")}, headers=TUS)),
    # presigned uploads straight to object storage (issue 7; the local store answers 409)
    ("POST", f"{V}/uploads/presigned"): own("creates an upload in the token's tenant",
                                            Call(json={"filename": "matrix.mp4", "size": 1000})),
    ("POST", f"{V}/uploads/presigned/{{upload_id}}/complete"): foreign(Call(path={"upload_id": R("upload")})),
    # jobs
    ("GET", f"{V}/jobs"): foreign(Call(query={"video_id": R("video")}), Call(query={"video_id": R("queued_video")})),
    ("GET", f"{V}/jobs/{{job_id}}"): foreign(Call(path={"job_id": R("job")}), Call(path={"job_id": R("queued_job")})),
    ("POST", f"{V}/jobs/{{job_id}}/cancel"): foreign(
        Call(path={"job_id": R("queued_job")}), Call(path={"job_id": R("job")})),
    ("POST", f"{V}/jobs/{{job_id}}/retry"): foreign(
        Call(path={"job_id": R("job")}), Call(path={"job_id": R("queued_job")})),
    ("GET", f"{V}/jobs/{{job_id}}/events"): foreign(Call(path={"job_id": R("job")})),
    # visual (issue 4)
    ("GET", f"{V}/videos/{{video_id}}/shots"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/videos/{{video_id}}/scenes"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/videos/{{video_id}}/text"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/videos/{{video_id}}/tags"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/videos/{{video_id}}/cues"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/videos/{{video_id}}/people"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/people"): own("the token's tenant's gallery"),
    ("GET", f"{V}/people/settings"): own("the token's tenant's face-analysis switch"),
    ("PUT", f"{V}/people/settings"): own("switches face analysis of the token's tenant",
                                         Call(json={"face_analysis": True})),
    ("GET", f"{V}/people/{{person_id}}"): foreign(Call(path={"person_id": R("person")})),
    ("PATCH", f"{V}/people/{{person_id}}"): foreign(Call(path={"person_id": R("person")}, json={"name": "pwned"})),
    ("DELETE", f"{V}/people/{{person_id}}"): foreign(Call(path={"person_id": R("person")})),
    ("POST", f"{V}/people/{{person_id}}/merge"): foreign(
        Call(path={"person_id": R("person")}, json={"person_ids": [R("a:person")]}),
        Call(path={"person_id": R("a:person")}, json={"person_ids": [R("person")]})),
    ("POST", f"{V}/people/{{person_id}}/split"): foreign(
        Call(path={"person_id": R("person")}, json={"face_ids": [R("face")]}),
        Call(path={"person_id": R("a:person")}, json={"face_ids": [R("face")]})),
    # answers, summaries, chapters (issue 5)
    ("POST", f"{V}/ask"): foreign(
        Call(json={"question": "What was said in this clip?", "scope": {"video_ids": [R("video")]}}),
        Call(json={"question": R("video_title")})),
    ("POST", f"{V}/summarize"): foreign(
        Call(json={"query": "what was said", "scope": {"video_ids": [R("video")]}}),
        Call(json={"query": R("video_title")})),
    ("GET", f"{V}/videos/{{video_id}}/summary"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/videos/{{video_id}}/chapters"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/answers/settings"): own("the token's tenant's answer backend"),
    ("PUT", f"{V}/answers/settings"): own("sets the token's tenant's answer backend",
                                          Call(json={"answer_backend": "extractive"})),
    # search (issue 5): B's video ids as filters and B's titles as queries must find nothing of B's
    ("GET", f"{V}/search"): foreign(Call(query={"q": "clip", "video_id": R("video")}),
                                    Call(query={"q": R("video_title")})),
    # usage
    ("GET", f"{V}/usage"): own("usage of the token's tenant"),
    ("GET", f"{V}/usage/history"): own("monthly usage of the token's tenant"),
    # operator
    ("GET", f"{V}/admin/tiers"): operator("tier configuration"),
    ("GET", f"{V}/admin/tenants"): operator("lists every tenant by design"),
    ("POST", f"{V}/admin/tenants"): operator("creates tenants", Call(json={
        "name": "Mallory", "tier": "free", "owner_email": "mallory@example.com", "owner_password": PASSWORD})),
    ("PATCH", f"{V}/admin/tenants/{{tenant_id}}"): operator(
        "changes any tenant; A's principals try to suspend B",
        Call(path={"tenant_id": R("tenant")}, json={"status": "suspended"}),
        Call(path={"tenant_id": R("tenant")}, json={"tier": "free"})),
    # downloads
    ("GET", f"{V}/blobs/{{token}}"): public(
        "the signed token is the credential; a token naming B's original with a forged MAC",
        Call(path={"token": R("forged_blob_token")})),
}
