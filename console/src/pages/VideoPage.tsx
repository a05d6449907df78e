import { useCallback, useEffect, useRef, useState } from "react";
import { useParams, useSearchParams } from "react-router-dom";
import { api, authFetch, authJson, sameOrigin, unwrap, type Schemas } from "../api/client";
import { canWrite, useAuth } from "../auth";
import { StatusBadge, useJob } from "../components/JobStatus";
import { ErrorBox, Loading } from "../components/State";
import { Timeline } from "../components/Timeline";
import { TranscriptPanel, type Segment, type TranscriptDoc } from "../components/Transcript";
import { bytes, clock, date } from "../lib/format";
import { useLoad } from "../lib/useLoad";

type Job = Schemas["JobPublic"];

export function VideoPage() {
  const { id = "" } = useParams();
  const [params] = useSearchParams();
  const startAt = Number(params.get("t") ?? "0") || 0;
  const { session } = useAuth();
  const video = useLoad(() => api.GET("/api/v1/videos/{video_id}", { params: { path: { video_id: id } } }).then(unwrap), [id]);
  const v = video.data;
  const live = useJob(v?.job && v.status !== "ready" && v.status !== "failed" ? v.job.id : null, v?.job ?? null);
  const reload = video.reload;
  useEffect(() => { if (live && ["succeeded", "failed", "cancelled"].includes(live.status)) reload(); }, [live?.status, reload]); // eslint-disable-line

  const player = useRef<HTMLVideoElement>(null);
  const pending = useRef<number | null>(null); // a seek asked for before the player exists
  const [time, setTime] = useState(startAt);
  const seek = useCallback((t: number) => {
    const el = player.current;
    setTime(t);
    if (!el) { pending.current = t; return; }
    el.currentTime = t;
    el.play().catch(() => undefined);
  }, []);

  if (video.error) return <ErrorBox error={video.error} retry={reload} what="Could not open this video" />;
  if (!v) return <Loading label="Loading video…" />;
  const ready = v.status === "ready";
  const job = live ?? v.job ?? null;
  return (
    <article className="video-page">
      <header className="page-head">
        <h1>{v.title || v.filename}</h1>
        <StatusBadge status={v.status} />
        <span className="hint">{clock(v.duration_s)} · {v.width && v.height ? `${v.width}×${v.height} · ` : ""}{bytes(v.size_bytes)} · uploaded {date(v.created_at)}</span>
      </header>
      {v.status === "failed" && <p role="alert" className="state error">Processing failed: {v.error_message ?? v.error_code}. Retry it under “Processing details”.</p>}
      <div className="watch">
        <Player videoId={id} playerRef={player} startAt={startAt} pending={pending} onTime={setTime} subtitles={ready} />
        {ready ? <TranscriptLoader videoId={id} time={time} onSeek={seek} editable={canWrite(session?.role)} />
          : <p className="hint transcript">The transcript appears when processing finishes.</p>}
      </div>
      {ready && <Downloads videoId={id} />}
      {ready && <Summary videoId={id} />}
      {ready && <Timeline videoId={id} duration={v.duration_s ?? 0} onSeek={seek} />}
      {job && <Processing job={job} canRetry={canWrite(session?.role)} onChanged={reload} />}
    </article>
  );
}

function Player({ videoId, playerRef, startAt, pending, onTime, subtitles }: {
  videoId: string; playerRef: React.RefObject<HTMLVideoElement | null>; startAt: number; pending: React.RefObject<number | null>;
  onTime: (t: number) => void; subtitles: boolean;
}) {
  const src = useLoad(() => api.GET("/api/v1/videos/{video_id}/download", { params: { path: { video_id: videoId } } })
    .then(unwrap).then((s) => sameOrigin(s.url)), [videoId]);
  const [vtt, setVtt] = useState<string | null>(null);
  const retries = useRef(0);
  useEffect(() => {
    if (!subtitles) return;
    let url: string | null = null;
    authFetch(`/api/v1/videos/${videoId}/transcript?format=vtt`).then(async (r) => {
      if (r.ok) { url = URL.createObjectURL(await r.blob()); setVtt(url); }
    });
    return () => { if (url) URL.revokeObjectURL(url); };
  }, [videoId, subtitles]);
  useEffect(() => { // a deep link (?t=) seeks the player that is already there
    const el = playerRef.current;
    if (el && el.readyState >= 1) el.currentTime = startAt;
  }, [startAt, playerRef]);

  if (src.error) return <ErrorBox error={src.error} retry={src.reload} what="The video file is not available" />;
  if (!src.data) return <div className="player placeholder"><Loading label="Loading player…" /></div>;
  return (
    <video ref={playerRef} className="player" controls preload="metadata" src={src.data} aria-label="Video player"
           data-testid="player"
           onLoadedMetadata={(e) => {
             const t = pending.current ?? startAt;
             pending.current = null;
             if (t) e.currentTarget.currentTime = t;
           }}
           onError={(e) => { // signed links live minutes: fetch a fresh one and carry on where playback was
             const el = e.currentTarget;
             if (retries.current++ < 3) { pending.current = el.currentTime || pending.current; src.reload(); }
           }}
           onTimeUpdate={(e) => onTime(e.currentTarget.currentTime)} onSeeked={(e) => onTime(e.currentTarget.currentTime)}>
      {vtt && <track kind="subtitles" src={vtt} srcLang="en" label="Subtitles" default />}
    </video>
  );
}

function TranscriptLoader({ videoId, time, onSeek, editable }: { videoId: string; time: number; onSeek: (t: number) => void; editable: boolean }) {
  // authJson, not the typed client: this route also answers txt/srt/vtt, which widens its generated type
  const t = useLoad(() => authJson<Schemas["TranscriptDocument"]>(`/api/v1/videos/${videoId}/transcript`), [videoId]);
  const [doc, setDoc] = useState<TranscriptDoc | null>(null);
  useEffect(() => { if (t.data) setDoc(t.data); }, [t.data]);
  if (t.error) return <div className="transcript"><ErrorBox error={t.error} retry={t.reload} what="No transcript" /></div>;
  if (!doc) return <div className="transcript"><Loading label="Loading transcript…" /></div>;
  const change = (i: number, s: Segment) => setDoc((d) => d && { ...d, segments: d.segments.map((x, j) => (j === i ? { ...x, ...s } : x)) });
  return <TranscriptPanel videoId={videoId} doc={doc} time={time} onSeek={onSeek} editable={editable} onChange={change} />;
}

function Downloads({ videoId }: { videoId: string }) {
  const [error, setError] = useState<string | null>(null);
  async function get(format: "srt" | "vtt" | "txt") {
    setError(null);
    const r = await authFetch(`/api/v1/videos/${videoId}/transcript?format=${format}`);
    if (!r.ok) { setError(`Could not download the ${format.toUpperCase()} file (${r.status}).`); return; }
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await r.blob());
    a.download = `${videoId}.${format}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }
  return (
    <div className="downloads" role="group" aria-label="Subtitle downloads">
      <span>Subtitles:</span>
      <button type="button" className="secondary" onClick={() => get("srt")}>Download SRT</button>
      <button type="button" className="secondary" onClick={() => get("vtt")}>Download VTT</button>
      <button type="button" className="secondary" onClick={() => get("txt")}>Download text</button>
      {error && <span role="alert" className="reject">{error}</span>}
    </div>
  );
}

function Processing({ job, canRetry, onChanged }: { job: Job; canRetry: boolean; onChanged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  async function retry() {
    try {
      unwrap(await api.POST("/api/v1/jobs/{job_id}/retry", { params: { path: { job_id: job.id } } }));
      onChanged();
    } catch (e) { setError(e instanceof Error ? e.message : String(e)); }
  }
  return (
    <details className="processing" open={job.status !== "succeeded"}>
      <summary>Processing details — {job.status} ({Math.round(job.progress * 100)}%)</summary>
      <div className="table-wrap">
        <table>
          <thead><tr><th scope="col">Stage</th><th scope="col">Status</th><th scope="col">Attempt</th><th scope="col">Progress</th><th scope="col">Took</th><th scope="col">Error</th></tr></thead>
          <tbody>
            {job.stages.map((s) => (
              <tr key={s.name}>
                <td>{s.name} <span className="hint">v{s.version}</span></td><td><StatusBadge status={s.status} /></td><td>{s.attempt}</td>
                <td>{Math.round(s.progress * 100)}%</td><td>{s.duration_s != null ? `${s.duration_s.toFixed(1)} s` : "–"}</td>
                <td>{s.error_message ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {job.status === "failed" && canRetry && <button type="button" onClick={retry}>Retry failed stages</button>}
      {error && <p role="alert" className="reject">{error}</p>}
    </details>
  );
}

function Summary({ videoId }: { videoId: string }) {
  const s = useLoad(async () => {
    const r = await api.GET("/api/v1/videos/{video_id}/summary", { params: { path: { video_id: videoId } } });
    return r.response.status === 404 || r.response.status === 409 ? null : unwrap(r);
  }, [videoId]);
  if (s.error || !s.data) return null; // not computed (yet): the page is complete without it
  return (
    <section className="summary" aria-labelledby="summary-h">
      <h2 id="summary-h">Summary</h2>
      <p>{s.data.short}</p>
      {s.data.long && s.data.long !== s.data.short && <details><summary>More</summary><p>{s.data.long}</p></details>}
    </section>
  );
}
