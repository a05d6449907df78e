import { useCallback, useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../api/client";
import { canWrite, useAuth } from "../auth";
import { Empty, ErrorBox, Loading } from "../components/State";
import { LiveStatus } from "../components/JobStatus";
import { SignedImage } from "../components/Thumb";
import { UploadZone } from "../components/UploadZone";
import { bytes, clock, date } from "../lib/format";
import { useLoad } from "../lib/useLoad";

type Video = Schemas["VideoPublic"];
type Status = "queued" | "processing" | "ready" | "failed";
type Sort = "-created_at" | "created_at" | "title" | "-duration_s";

export function Library() {
  const { session } = useAuth();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const status = (params.get("status") ?? "") as Status | "";
  const tag = params.get("tag") ?? "";
  const sort = (params.get("sort") ?? "-created_at") as Sort;
  const view = params.get("view") === "list" ? "list" : "grid";
  const [text, setText] = useState(q);
  const set = (k: string, v: string) => setParams((p) => { if (v) p.set(k, v); else p.delete(k); return p; }, { replace: true });

  const query = { q: q || undefined, status: status || undefined, tag: tag || undefined, sort, limit: 60 };
  const list = useLoad(() => api.GET("/api/v1/videos", { params: { query } }).then(unwrap), [q, status, tag, sort, session?.tenant?.id]);
  const [more, setMore] = useState<{ items: Video[]; next: string | null } | null>(null);
  useEffect(() => setMore(null), [list.data]);
  const next = more ? more.next : list.data?.next_cursor ?? null;
  const items = [...(list.data?.items ?? []), ...(more?.items ?? [])];
  async function loadMore() {
    const page = unwrap(await api.GET("/api/v1/videos", { params: { query: { ...query, cursor: next ?? undefined } } }));
    setMore((m) => ({ items: [...(m?.items ?? []), ...page.items], next: page.next_cursor ?? null }));
  }
  const reload = list.reload;
  const onDone = useCallback(() => reload(), [reload]);
  const filtered = Boolean(q || status || tag);

  return (
    <>
      <h1>Library</h1>
      {canWrite(session?.role) && <UploadZone onUploaded={() => reload()} />}
      <form className="toolbar" role="search" aria-label="Filter videos" onSubmit={(e) => { e.preventDefault(); set("q", text.trim()); }}>
        <label>Title<input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="Find by title" /></label>
        <label>Status
          <select value={status} onChange={(e) => set("status", e.target.value)}>
            <option value="">Any</option><option>queued</option><option>processing</option><option>ready</option><option>failed</option>
          </select>
        </label>
        <label>Tag<input value={tag} onChange={(e) => set("tag", e.target.value.trim())} size={10} /></label>
        <label>Sort
          <select value={sort} onChange={(e) => set("sort", e.target.value)}>
            <option value="-created_at">Newest</option><option value="created_at">Oldest</option>
            <option value="title">Title</option><option value="-duration_s">Longest</option>
          </select>
        </label>
        <button type="submit">Apply</button>
        <div className="seg" role="group" aria-label="View">
          <button type="button" aria-pressed={view === "grid"} onClick={() => set("view", "")}>Grid</button>
          <button type="button" aria-pressed={view === "list"} onClick={() => set("view", "list")}>List</button>
        </div>
      </form>
      {list.error && <ErrorBox error={list.error} retry={reload} what="Could not load the library" />}
      {list.loading && !list.data && <Loading label="Loading videos…" />}
      {list.data && list.data.items.length === 0 && (filtered
        ? <Empty title="No video matches these filters.">Clear the title, status or tag filter to see everything.</Empty>
        : <Empty title="Your library is empty.">{canWrite(session?.role)
          ? "Drop a video file above to upload it; clipdex transcribes and indexes it for search."
          : "Your role here is viewer: ask a member, admin or owner of this tenant to upload videos."}</Empty>)}
      {items.length > 0 && (view === "grid"
        ? <ul className="grid" aria-label="Videos">{items.map((v) => <Card key={v.id} v={v} onDone={onDone} />)}</ul>
        : <VideoTable items={items} onDone={onDone} />)}
      {next && <p><button type="button" className="secondary" onClick={() => void loadMore()}>Show more videos</button></p>}
    </>
  );
}

function Card({ v, onDone }: { v: Video; onDone: () => void }) {
  return (
    <li className="card video-card" data-video-id={v.id}>
      <Link to={`/videos/${v.id}`} className="cover">
        <SignedImage url={v.thumbnail_url} alt="" />
        <span className="title">{v.title || v.filename}</span>
      </Link>
      <div className="meta"><LiveStatus videoId={v.id} status={v.status} onDone={onDone} /> <span>{clock(v.duration_s)}</span></div>
      {v.status === "failed" && <p className="reject">{v.error_message}</p>}
    </li>
  );
}

function VideoTable({ items, onDone }: { items: Video[]; onDone: () => void }) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="sr-only">Videos</caption>
        <thead><tr><th scope="col">Title</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Size</th><th scope="col">Tags</th><th scope="col">Uploaded</th></tr></thead>
        <tbody>
          {items.map((v) => (
            <tr key={v.id} data-video-id={v.id}>
              <td><Link to={`/videos/${v.id}`}>{v.title || v.filename}</Link></td>
              <td><LiveStatus videoId={v.id} status={v.status} onDone={onDone} />{v.status === "failed" && <div className="reject">{v.error_message}</div>}</td>
              <td>{clock(v.duration_s)}</td><td>{bytes(v.size_bytes)}</td><td>{v.tags.join(", ")}</td><td>{date(v.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
