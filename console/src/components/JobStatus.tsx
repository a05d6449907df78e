import { useEffect, useState } from "react";
import { api } from "../api/client";
import { followJob, withStreamSlot, type Job } from "../api/events";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** Follows a job's event stream; returns the latest snapshot (null until the first arrives). */
export function useJob(jobId: string | null | undefined, initial?: Job | null): Job | null {
  const [job, setJob] = useState<Job | null>(initial ?? null);
  useEffect(() => {
    if (!jobId || (initial && TERMINAL.has(initial.status))) return;
    const ctl = new AbortController();
    void withStreamSlot(() => followJob(jobId, setJob, ctl.signal));
    return () => ctl.abort();
  }, [jobId, initial]);
  return job;
}

/** The latest job of a video, streamed live while it runs; calls onDone once it ends. */
export function LiveStatus({ videoId, status, onDone }: { videoId: string; status: string; onDone?: () => void }) {
  const [jobId, setJobId] = useState<string | null>(null);
  const active = status === "queued" || status === "processing";
  useEffect(() => {
    if (!active) return;
    let live = true;
    api.GET("/api/v1/jobs", { params: { query: { video_id: videoId, limit: 1 } } })
      .then((r) => { if (live && r.data?.items[0]) setJobId(r.data.items[0].id); });
    return () => { live = false; };
  }, [videoId, active]);
  const job = useJob(active ? jobId : null);
  const ended = job && TERMINAL.has(job.status);
  useEffect(() => { if (ended) onDone?.(); }, [ended, onDone]);

  if (!active || !job) return <StatusBadge status={status} />;
  const running = job.stages.find((s) => s.status === "running");
  const pct = Math.round(job.progress * 100);
  return (
    <div className="live" aria-live="polite">
      <StatusBadge status={ended ? (job.status === "succeeded" ? "ready" : job.status) : "processing"} />
      {!ended && (
        <>
          <progress max={100} value={pct} aria-label={`Processing ${pct}%`} />
          <span className="hint">{running ? `${running.name}…` : "waiting for a worker…"} {pct}%</span>
        </>
      )}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}
