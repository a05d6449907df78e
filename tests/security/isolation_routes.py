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
    ("POST", f"{V}/auth/password-reset"): public(
        "asks for a reset link by e-mail; the same answer for any address, nothing of a tenant is returned",
        Call(json={"email": R("a:owner_email")})),
    ("POST", f"{V}/auth/password-reset/confirm"): public(
        "the reset token is the credential; a made-up one",
        Call(json={"token": "not-a-real-reset-token-at-all", "password": PASSWORD})),
    ("POST", f"{V}/auth/switch"): foreign(Call(json={"tenant": R("tenant")}), Call(json={"tenant": R("tenant_slug")})),
    ("GET", f"{V}/auth/me"): own("the caller's own profile and memberships"),
    # team
    ("GET", f"{V}/tenant"): own("the token's tenant"),
    ("PATCH", f"{V}/tenant"): own("renames the token's tenant", Call(json={"name": "Alpha renamed"})),
    ("GET", f"{V}/tenant/export"): own("the token's tenant's archive (admins and owners)"),
    ("DELETE", f"{V}/tenant"): foreign(Call(query={"confirm": R("tenant_slug")})),  # B's slug confirms nothing of A's
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
    ("GET", f"{V}/speech/settings"): own("the token's tenant's default speech language"),
    ("PUT", f"{V}/speech/settings"): own("sets the token's tenant's default speech language",
                                         Call(json={"default_language": "es"})),
    ("GET", f"{V}/answers/settings"): own("the token's tenant's answer backend"),
    ("PUT", f"{V}/answers/settings"): own("sets the token's tenant's answer backend",
                                          Call(json={"answer_backend": "extractive"})),
    # search (issue 5): B's video ids as filters and B's titles as queries must find nothing of B's
    ("GET", f"{V}/search"): foreign(Call(query={"q": "clip", "video_id": R("video")}),
                                    Call(query={"q": R("video_title")})),
    # compliance (issue 14): reports of B's videos, B's policies by id, B's policy name as a default
    ("GET", f"{V}/videos/{{video_id}}/compliance"): foreign(
        Call(path={"video_id": R("video")}), Call(path={"video_id": R("video")}, query={"policy": "kids"})),
    ("GET", f"{V}/videos/{{video_id}}/compliance.html"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/videos/{{video_id}}/compliance.pdf"): foreign(Call(path={"video_id": R("video")})),
    ("GET", f"{V}/compliance"): own("verdicts of the token's tenant's videos", Call(), Call(query={"verdict": "fail"})),
    ("GET", f"{V}/compliance/policies"): own("the token's tenant's policies and the presets"),
    ("POST", f"{V}/compliance/policies"): own("creates a policy in the token's tenant",
                                              Call(json={"name": "matrix-policy", "base": "kids"})),
    ("GET", f"{V}/compliance/policies/{{policy_id}}"): foreign(Call(path={"policy_id": R("compliance_policy")})),
    ("PUT", f"{V}/compliance/policies/{{policy_id}}"): foreign(Call(
        path={"policy_id": R("compliance_policy")},
        json={"title": "pwned", "rules": {"loudness": {"target_lufs": -10}}, "default": True})),
    ("PUT", f"{V}/compliance/default"): foreign(Call(json={"policy": R("compliance_policy_name")})),
    # custom models (issue 13): B's datasets, items and model versions by id; B's videos as a selection
    ("POST", f"{V}/datasets"): foreign(Call(json={"name": "matrix", "video_ids": [R("video")]})),
    ("GET", f"{V}/datasets"): own("datasets of the token's tenant"),
    ("GET", f"{V}/datasets/{{dataset_id}}"): foreign(Call(path={"dataset_id": R("dataset")})),
    ("DELETE", f"{V}/datasets/{{dataset_id}}"): foreign(Call(path={"dataset_id": R("dataset")})),
    ("GET", f"{V}/datasets/{{dataset_id}}/items"): foreign(Call(path={"dataset_id": R("dataset")})),
    ("POST", f"{V}/datasets/{{dataset_id}}/items"): foreign(
        Call(path={"dataset_id": R("dataset")}, json={"question": "pwned?", "answer": "pwned"}),
        Call(path={"dataset_id": R("a:dataset")}, json={"question": "q?", "answer": "a", "video_id": R("video")})),
    ("PATCH", f"{V}/datasets/{{dataset_id}}/items/{{item_id}}"): foreign(
        Call(path={"dataset_id": R("dataset"), "item_id": R("dataset_item")}, json={"answer": "pwned"}),
        Call(path={"dataset_id": R("a:dataset"), "item_id": R("dataset_item")}, json={"answer": "pwned"})),
    ("DELETE", f"{V}/datasets/{{dataset_id}}/items/{{item_id}}"): foreign(
        Call(path={"dataset_id": R("dataset"), "item_id": R("dataset_item")}),
        Call(path={"dataset_id": R("a:dataset"), "item_id": R("dataset_item")})),
    ("GET", f"{V}/datasets/{{dataset_id}}/export"): foreign(Call(path={"dataset_id": R("dataset")})),
    ("GET", f"{V}/training/plan"): own("the token's tenant's plan limits"),
    ("POST", f"{V}/models"): foreign(Call(json={"dataset_id": R("dataset"), "base_model": "smollm2-135m",
                                                "method": "lora", "max_steps": 5})),
    ("GET", f"{V}/models"): own("model versions of the token's tenant"),
    ("GET", f"{V}/models/{{model_id}}"): foreign(Call(path={"model_id": R("model")})),
    ("POST", f"{V}/models/{{model_id}}/activate"): foreign(Call(path={"model_id": R("model")})),
    ("POST", f"{V}/models/{{model_id}}/cancel"): foreign(Call(path={"model_id": R("queued_model")})),
    ("DELETE", f"{V}/models/{{model_id}}"): foreign(Call(path={"model_id": R("model")})),
    ("GET", f"{V}/models/{{model_id}}/events"): foreign(Call(path={"model_id": R("model")})),
    ("POST", f"{V}/models/rollback"): own("rolls back the token's tenant's active model"),
    ("GET", f"{V}/glossary"): own("the token's tenant's glossary"),
    ("PUT", f"{V}/glossary"): own("replaces the token's tenant's glossary", Call(json={"terms": ["Matrixterm"]})),
    # usage
    ("GET", f"{V}/usage"): own("usage of the token's tenant"),
    ("GET", f"{V}/usage/history"): own("monthly usage of the token's tenant"),
    # billing (issue 15; billing is off in the matrix: tests/billing/test_billing_isolation.py runs it on)
    ("GET", f"{V}/billing"): own("plan, state and usage of the token's tenant"),
    ("POST", f"{V}/billing/checkout"): own("starts Checkout for the token's tenant (owners only)",
                                           Call(json={"plan": "pro"})),
    ("POST", f"{V}/billing/portal"): own("opens the portal for the token's tenant's customer (owners only)"),
    ("GET", f"{V}/billing/invoices"): own("invoices of the token's tenant's customer (owners only)"),
    ("POST", f"{V}/billing/webhook"): public(
        "the Stripe signature is the credential; an unsigned event naming B's tenant",
        Call(json={"id": "evt_matrix", "type": "customer.subscription.updated",
                   "data": {"object": {"id": "sub_matrix", "metadata": {"tenant_id": R("tenant")}}}})),
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
