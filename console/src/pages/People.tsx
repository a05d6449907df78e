import { useState } from "react";
import { Link } from "react-router-dom";
import { api, sameOrigin, unwrap, type Schemas } from "../api/client";
import { canWrite, useAuth } from "../auth";
import { Empty, ErrorBox, Loading } from "../components/State";
import { clock } from "../lib/format";
import { useLoad } from "../lib/useLoad";

type Person = Schemas["PersonPublic"];

export function PeoplePage() {
  const { session } = useAuth();
  const people = useLoad(() => api.GET("/api/v1/people", { params: { query: { limit: 200 } } }).then(unwrap), [session?.tenant?.id]);
  const [selected, setSelected] = useState<string[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const editable = canWrite(session?.role);

  async function act(fn: () => Promise<unknown>) {
    setError(null);
    try { await fn(); people.reload(); } catch (e) { setError(e instanceof Error ? e.message : String(e)); }
  }
  const merge = () => act(async () => {
    const [into, ...rest] = selected;
    unwrap(await api.POST("/api/v1/people/{person_id}/merge", { params: { path: { person_id: into } }, body: { person_ids: rest } }));
    setSelected([]);
  });

  return (
    <>
      <h1>People</h1>
      <p className="hint">Faces found across your library, grouped into people. Name them, merge duplicates, split mistakes.</p>
      {editable && selected.length > 1 && (
        <div className="toolbar"><span>{selected.length} selected</span><button type="button" onClick={merge}>Merge into the first selected</button>
          <button type="button" className="secondary" onClick={() => setSelected([])}>Clear selection</button></div>
      )}
      {error && <p role="alert" className="state error">{error}</p>}
      {people.error && <ErrorBox error={people.error} retry={people.reload} what="Could not load people" />}
      {people.loading && !people.data && <Loading />}
      {people.data?.items.length === 0 && <Empty title="No people yet.">People appear when videos with faces finish processing (and face analysis is on for this tenant).</Empty>}
      <ul className="grid people" aria-label="People">
        {people.data?.items.map((p) => (
          <PersonCard key={p.id} p={p} editable={editable} checked={selected.includes(p.id)}
                      onCheck={(c) => setSelected((s) => (c ? [...s, p.id] : s.filter((x) => x !== p.id)))}
                      onOpen={() => setOpen(open === p.id ? null : p.id)} open={open === p.id} act={act} />
        ))}
      </ul>
    </>
  );
}

function PersonCard({ p, editable, checked, onCheck, open, onOpen, act }: {
  p: Person; editable: boolean; checked: boolean; onCheck: (c: boolean) => void; open: boolean; onOpen: () => void;
  act: (fn: () => Promise<unknown>) => Promise<void>;
}) {
  const [name, setName] = useState(p.name ?? "");
  const label = p.name || "Unnamed person";
  const path = { params: { path: { person_id: p.id } } };
  return (
    <li className="card person">
      {p.thumbnail_url ? <img className="face" src={sameOrigin(p.thumbnail_url)} alt={`Face of ${label}`} /> : <div className="face placeholder" role="img" aria-label="No face image" />}
      {editable ? (
        <form onSubmit={(e) => { e.preventDefault(); void act(async () => unwrap(await api.PATCH("/api/v1/people/{person_id}", { ...path, body: { name: name.trim() || null } }))); }}>
          <label className="sr-only" htmlFor={`name-${p.id}`}>Name of {label}</label>
          <input id={`name-${p.id}`} value={name} onChange={(e) => setName(e.target.value)} placeholder="Add a name" />
          <button type="submit" className="secondary">Save</button>
        </form>
      ) : <p>{label}</p>}
      <p className="hint">{p.face_count} appearance{p.face_count === 1 ? "" : "s"}</p>
      <div className="row">
        {editable && <label className="inline"><input type="checkbox" checked={checked} onChange={(e) => onCheck(e.target.checked)} /> Select</label>}
        <button type="button" className="link" aria-expanded={open} onClick={onOpen}>Appearances</button>
        {editable && <button type="button" className="link danger" onClick={() => {
          if (confirm(`Delete ${label} and their face data?`)) void act(async () => unwrap(await api.DELETE("/api/v1/people/{person_id}", path)));
        }}>Delete</button>}
      </div>
      {/* keyed by the count so a merge or split reloads the open list instead of showing moved faces */}
      {open && <Appearances key={p.face_count} id={p.id} editable={editable} act={act} />}
    </li>
  );
}

function Appearances({ id, editable, act }: { id: string; editable: boolean; act: (fn: () => Promise<unknown>) => Promise<void> }) {
  const d = useLoad(() => api.GET("/api/v1/people/{person_id}", { params: { path: { person_id: id } } }).then(unwrap), [id]);
  const [pick, setPick] = useState<string[]>([]);
  if (d.error) return <ErrorBox error={d.error} />;
  if (!d.data) return <Loading />;
  return (
    <div className="appearances">
      <ul>
        {d.data.appearances.map((a) => (
          <li key={a.face_id}>
            {editable && <input type="checkbox" aria-label={`Select appearance at ${clock(a.start_s)}`} checked={pick.includes(a.face_id)}
                                onChange={(e) => setPick((s) => (e.target.checked ? [...s, a.face_id] : s.filter((x) => x !== a.face_id)))} />}
            <Link to={`/videos/${a.video_id}?t=${a.start_s}`}>{a.video_title || "Video"} at {clock(a.start_s)}</Link>
          </li>
        ))}
      </ul>
      {editable && pick.length > 0 && (
        <button type="button" onClick={() => void act(async () =>
          unwrap(await api.POST("/api/v1/people/{person_id}/split", { params: { path: { person_id: id } }, body: { face_ids: pick, name: null } })))}>
          Split {pick.length} into a new person
        </button>
      )}
    </div>
  );
}
