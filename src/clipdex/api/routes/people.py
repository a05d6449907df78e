"""The people gallery: list, name, merge, split and delete people; a video's people; the tenant's
face-analysis switch. Deleting a person deletes their face embeddings and face thumbnails and takes
their tracks out of faces.json; switching face analysis off with ``purge=true`` deletes all of it."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from clipdex.api.deps import Authed, PlatformDep
from clipdex.api.pagination import PageParams, paginate
from clipdex.auth import service as auth
from clipdex.models import Face, Person, Tenant, Video
from clipdex.people import service as people
from clipdex.schemas.common import Page
from clipdex.search import indexer
from clipdex.storage import presign
from clipdex.tenancy import access, audit

router = APIRouter(tags=["people"])


class Appearance(BaseModel):
    face_id: uuid.UUID
    video_id: uuid.UUID
    video_title: str | None = None  # the video's title, else its filename
    start_s: float
    end_s: float


class PersonPublic(BaseModel):
    id: uuid.UUID
    name: str | None
    face_count: int
    thumbnail_url: str | None = None
    created_at: datetime


class PersonDetail(PersonPublic):
    appearances: list[Appearance]


class PersonUpdate(BaseModel):
    name: str | None = Field(None, max_length=200)


class MergeRequest(BaseModel):
    person_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)


class SplitRequest(BaseModel):
    face_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    name: str | None = Field(None, max_length=200)


class FaceSettings(BaseModel):
    face_analysis: bool


class FaceSettingsChanged(FaceSettings):
    purged: dict[str, int] | None = None  # what ``purge=true`` deleted (faces, people, artifacts)


def _thumb(platform, key: str | None) -> str | None:
    if not key:
        return None
    return presign.blob_link(platform, key, filename="face.jpg")


def _public(platform, p: Person) -> PersonPublic:
    return PersonPublic(id=p.id, name=p.name, face_count=p.face_count, thumbnail_url=_thumb(platform, p.thumb_key),
                        created_at=p.created_at)


def _detail(platform, s, p: Person, video_id: uuid.UUID | None = None) -> PersonDetail:
    # the titles come in the same query (a join on the tenant's own videos), not one lookup per video
    q = (select(Face, Video.title, Video.filename).join(Video, Video.id == Face.video_id)
         .where(Face.person_id == p.id, access.owned_by(Face, p.tenant_id), access.owned_by(Video, p.tenant_id)))
    if video_id:
        q = q.where(Face.video_id == video_id)
    rows = s.execute(q.order_by(Face.video_id, Face.start_s)).all()
    return PersonDetail(**_public(platform, p).model_dump(), appearances=[
        Appearance(face_id=f.id, video_id=f.video_id, video_title=title or filename or None, start_s=f.start_s,
                   end_s=f.end_s) for f, title, filename in rows])


@router.get("/people", response_model=Page[PersonPublic], summary="People of the tenant's gallery")
def list_people(principal: Authed, platform: PlatformDep, page: PageParams) -> Page[PersonPublic]:
    query = access.list_owned(principal, Person, "video:read")
    with access.session_for(platform, principal, readonly=True) as s:
        r = paginate(s, query, Person, page, sort="-created_at")
        return Page(items=[_public(platform, p) for p in r.items], next_cursor=r.next_cursor)


@router.get("/people/settings", response_model=FaceSettings, summary="Whether face analysis runs for this tenant")
def get_face_settings(principal: Authed, platform: PlatformDep) -> FaceSettings:
    auth.ensure(principal, "tenant:read")
    with access.session_for(platform, principal, readonly=True) as s:
        t = s.get(Tenant, access.tenant_of(principal))
        return FaceSettings(face_analysis=bool((t.settings or {}).get("face_analysis", True)))


@router.put("/people/settings", response_model=FaceSettingsChanged,
            summary="Turn face analysis on or off (owners); purge=true also deletes the tenant's face data")
def put_face_settings(body: FaceSettings, principal: Authed, platform: PlatformDep,
                      purge: bool = Query(False, description="with face_analysis=false: also delete every face "
                                                             "embedding, person and face artifact of the tenant")
                      ) -> FaceSettingsChanged:
    auth.ensure(principal, "tenant:update")
    if purge and body.face_analysis:
        from clipdex.errors import PurgeNeedsOff

        raise PurgeNeedsOff("purge=true only goes with face_analysis=false.")
    keys: list[str] = []
    purged = None
    with access.session_for(platform, principal) as s:
        t = s.get(Tenant, access.tenant_of(principal))
        t.settings = {**(t.settings or {}), "face_analysis": body.face_analysis}
        audit.record(s, "tenant.face_analysis", actor=principal.actor, tenant_id=t.id, target=f"tenant:{t.id}",
                     face_analysis=body.face_analysis)
        if purge:
            seen_in = set(s.scalars(select(Face.video_id).where(access.owned_by(Face, t.id))))
            purged, keys = people.purge_tenant_faces(s, t.id)
            audit.record(s, "tenant.face_data_purged", actor=principal.actor, tenant_id=t.id,
                         target=f"tenant:{t.id}", **purged)
    for key in keys:  # after the commit: a failed delete keeps its files
        platform.blobs.delete(key)
    if purge:
        indexer.refresh_and_purge(platform, access.tenant_of(principal), seen_in)
    return FaceSettingsChanged(face_analysis=body.face_analysis, purged=purged)


@router.get("/people/{person_id}", response_model=PersonDetail, summary="A person with their appearances")
def get_person(person_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> PersonDetail:
    with access.session_for(platform, principal, readonly=True) as s:
        return _detail(platform, s, access.get_owned(s, principal, Person, person_id, "video:read"))


@router.patch("/people/{person_id}", response_model=PersonPublic, summary="Name (or unname) a person")
def update_person(person_id: uuid.UUID, body: PersonUpdate, principal: Authed, platform: PlatformDep) -> PersonPublic:
    with access.session_for(platform, principal) as s:
        p = access.get_owned(s, principal, Person, person_id, "video:write")
        p.name = (body.name or "").strip() or None
        p.updated_at = datetime.now(timezone.utc)
        s.flush()
        return _public(platform, p)


@router.delete("/people/{person_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a person with their face embeddings and thumbnails")
def delete_person(person_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> None:
    with access.session_for(platform, principal) as s:
        p = access.get_owned(s, principal, Person, person_id, "video:delete")
        seen_in = set(s.scalars(select(Face.video_id).where(Face.person_id == p.id)))
        keys = people.delete_person(s, p, platform.blobs)
        audit.record(s, "person.deleted", actor=principal.actor, tenant_id=p.tenant_id, target=f"person:{p.id}")
    for key in keys:  # after the commit: a failed delete keeps its files
        platform.blobs.delete(key)
    indexer.refresh_and_purge(platform, p.tenant_id, seen_in)  # index rows named the person and carried their id


@router.post("/people/{person_id}/merge", response_model=PersonDetail, summary="Merge other people into this one")
def merge_people(person_id: uuid.UUID, body: MergeRequest, principal: Authed, platform: PlatformDep) -> PersonDetail:
    with access.session_for(platform, principal) as s:
        into = access.get_owned(s, principal, Person, person_id, "video:write")
        others = [access.get_owned(s, principal, Person, pid, "video:write") for pid in dict.fromkeys(body.person_ids)]
        people.merge(s, into, others)
        return _detail(platform, s, into)


@router.post("/people/{person_id}/split", response_model=PersonDetail, status_code=status.HTTP_201_CREATED,
             summary="Move some of a person's faces to a new person")
def split_person(person_id: uuid.UUID, body: SplitRequest, principal: Authed, platform: PlatformDep) -> PersonDetail:
    with access.session_for(platform, principal) as s:
        p = access.get_owned(s, principal, Person, person_id, "video:write")
        ids = [access.get_owned(s, principal, Face, fid, "video:write") for fid in dict.fromkeys(body.face_ids)]
        if any(f.person_id != p.id for f in ids):
            from clipdex.errors import NotFound

            raise NotFound()
        new = people.split(s, p, [f.id for f in ids], body.name)
        return _detail(platform, s, new)


@router.get("/videos/{video_id}/people", response_model=list[PersonDetail],
            summary="People seen in a video, with their appearances in it")
def video_people(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> list[PersonDetail]:
    with access.session_for(platform, principal, readonly=True) as s:
        v = access.get_video_for(s, principal, video_id, "video:read")
        ids = list(dict.fromkeys(s.scalars(select(Face.person_id).where(Face.video_id == v.id,
                                                                        access.owned_by(Face, v.tenant_id))
                                           .order_by(Face.start_s))))
        out = []
        for pid in ids:
            p = access.get_owned(s, principal, Person, pid, "video:read")
            out.append(_detail(platform, s, p, v.id))
        return out
