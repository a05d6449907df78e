import { useEffect, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ApiError, sameOrigin } from "../api/client";
import { MODALITIES, search, type Modality, type SearchHit } from "../api/contract";
import { Empty, ErrorBox, Loading } from "../components/State";
import { clock, highlightParts } from "../lib/format";
import { useLoad } from "../lib/useLoad";

export function SearchPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const mods = params.getAll("modality").filter((m): m is Modality => (MODALITIES as readonly string[]).includes(m));
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  const results = useLoad(() => (q ? search({ q, modality: mods }) : Promise.resolve(null)), [q, mods.join(",")]);

  function submit(e: FormEvent) {
    e.preventDefault();
    setParams((p) => { p.set("q", text.trim()); return p; });
  }
  function toggle(m: string) {
    setParams((p) => {
      const cur = p.getAll("modality");
      p.delete("modality");
      (cur.includes(m) ? cur.filter((x) => x !== m) : [...cur, m]).forEach((x) => p.append("modality", x));
      return p;
    });
  }

  const [more, setMore] = useState<{ items: SearchHit[]; next: string | null } | null>(null);
  useEffect(() => setMore(null), [results.data]);
  const next = more ? more.next : results.data?.next_cursor ?? null;
  async function loadMore() {
    const page = await search({ q, modality: mods, cursor: next ?? undefined });
    setMore((m) => ({ items: [...(m?.items ?? []), ...page.items], next: page.next_cursor ?? null }));
  }
  const unavailable = results.error instanceof ApiError && (results.error.status === 404 || results.error.status === 405);
  return (
    <>
      <h1>Search</h1>
      <form role="search" className="toolbar" onSubmit={submit}>
        <label className="grow">Search your library
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="A spoken phrase, on-screen text, a tag…" />
        </label>
        <button type="submit" disabled={!text.trim()}>Search</button>
      </form>
      <fieldset className="chips">
        <legend>Match in</legend>
        {MODALITIES.map((m) => (
          <label key={m} className="chip"><input type="checkbox" checked={mods.includes(m)} onChange={() => toggle(m)} /> {m}</label>
        ))}
      </fieldset>
      {!q && <Empty title="Search every video at once.">Type words someone says, text shown on screen or a tag; results open the player at the moment.</Empty>}
      {q && results.loading && <Loading label="Searching…" />}
      {unavailable && <Empty title="Search is not available on this server yet.">Ask your operator to upgrade clipdex.</Empty>}
      {results.error && !unavailable && <ErrorBox error={results.error} retry={results.reload} what="Search failed" />}
      {!results.loading && results.data && results.data.items.length === 0 && (
        <Empty title={`No moments match “${q}”.`}>Try fewer or different words, remove the “Match in” filters, or check that your videos have finished processing.</Empty>
      )}
      {!results.loading && results.data && results.data.items.length > 0 && (
        <ol className="results" aria-label="Results">{[...results.data.items, ...(more?.items ?? [])].map((h, i) => <Hit key={i} hit={h} />)}</ol>
      )}
      {!results.loading && next && <p><button type="button" className="secondary" onClick={() => void loadMore()}>More results</button></p>}
    </>
  );
}

function Hit({ hit }: { hit: SearchHit }) {
  const to = `/videos/${hit.video_id}?t=${hit.start.toFixed(2)}`;
  return (
    <li className="result card">
      <Link to={to} className="result-link" aria-label={`${hit.video_title} at ${clock(hit.start)}`}>
        {hit.thumbnail_url ? <img className="thumb" src={sameOrigin(hit.thumbnail_url)} alt="" loading="lazy" /> : <div className="thumb placeholder" />}
      </Link>
      <div>
        <p className="result-title"><Link to={to}>{hit.video_title}</Link> <span className="time">{clock(hit.start)}–{clock(hit.end)}</span></p>
        <p className="snippet">{hit.speaker && <span className="speaker">{hit.speaker}: </span>}
          {highlightParts(hit.snippet, (hit.highlights ?? []) as [number, number][]).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
        </p>
        <p className="mods">{hit.modalities.map((m) => <span key={m} className="badge">{m}</span>)}</p>
      </div>
    </li>
  );
}
