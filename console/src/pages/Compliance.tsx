// Compliance: the tenant's videos by verdict and its default policy; one video's report against any
// policy (derived on the server from stored measurements, so switching policy is instant), with the
// findings on the player's timeline (a click seeks there) and HTML/PDF downloads for sign-off.
import { useCallback, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { api, authFetch, authJson, sameOrigin, unwrap } from "../api/client";
import { useAuth } from "../auth";
import { ErrorBox, Loading } from "../components/State";
import { clock, date } from "../lib/format";
import { useLoad } from "../lib/useLoad";

export interface Finding {
  id: number; check: string; severity: "info" | "warning" | "violation"; start_s: number; end_s: number;
  message: string; suggestion: string; evidence: Record<string, unknown>;
}
interface CheckVerdict { check: string; verdict: string; severity: string; findings: number; measured: Record<string, unknown> }
interface Series { t: number[]; momentary: number[]; short_term: number[] }
export interface Report {
  video_id: string; title?: string; verdict: string; counts: Record<string, number>;
  policy: { name: string; version: number; builtin?: boolean }; checks: CheckVerdict[]; findings: Finding[];
  loudness: { integrated_lufs: number | null; lra_lu: number | null; true_peak_dbtp: number | null; series: Series } | null;
  video: { duration_s?: number };
}
interface Policy { id: string | null; name: string; title: string; version: number; is_default: boolean; builtin: boolean }
interface Result { video_id: string; title: string; verdict: string; policy_name: string; policy_version: number; violations: number; warnings: number; evaluated_at: string }

const VERDICTS = ["fail", "warn", "incomplete", "pass"] as const;
const canManage = (role?: string | null) => role === "admin" || role === "owner";

export function Verdict({ value }: { value: string }) {
  return <span className={`verdict verdict-${value}`}>{value.replace("_", " ")}</span>;
}

export function CompliancePage() {
  const { session } = useAuth();
  const [params, setParams] = useSearchParams();
  const verdict = params.get("verdict") ?? "";
  const list = useLoad(() => authJson<{ items: Result[] }>(`/api/v1/compliance${verdict ? `?verdict=${verdict}` : ""}`),
    [verdict, session?.tenant?.id]);
  const pols = useLoad(() => authJson<Policy[]>("/api/v1/compliance/policies"), [session?.tenant?.id]);
  const [msg, setMsg] = useState<string | null>(null);
  async function makeDefault(name: string) {
    setMsg(null);
    try {
      const r = await authJson<{ policy: string; reevaluated: number }>("/api/v1/compliance/default",
        { method: "PUT", body: JSON.stringify({ policy: name }) });
      setMsg(`Default policy is now ${r.policy}; ${r.reevaluated} stored verdict(s) re-derived.`);
      pols.reload(); list.reload();
    } catch (e) { setMsg(e instanceof Error ? e.message : String(e)); }
  }
  const current = pols.data?.find((p) => p.is_default);
  return (
    <>
      <h1>Compliance</h1>
      <section aria-label="Default policy" className="panel">
        <h2>Default policy</h2>
        {pols.error && <ErrorBox error={pols.error} retry={pols.reload} what="Could not load policies" />}
        {pols.data && (
          <p>
            Every new video is judged against <strong>{current?.name ?? "—"}</strong>{current ? ` (version ${current.version})` : ""}.{" "}
            {canManage(session?.role) && (
              <label>Change to{" "}
                <select aria-label="Default policy" value={current?.name ?? ""} onChange={(e) => void makeDefault(e.target.value)}>
                  {pols.data.map((p) => <option key={p.name} value={p.name}>{p.name}{p.builtin ? " (preset)" : ""}</option>)}
                </select>
              </label>
            )}
          </p>
        )}
        {msg && <p role="status">{msg}</p>}
      </section>
      <section aria-label="Videos by verdict">
        <h2>Videos</h2>
        <label>Verdict{" "}
          <select aria-label="Filter by verdict" value={verdict}
                  onChange={(e) => setParams(e.target.value ? { verdict: e.target.value } : {})}>
            <option value="">any</option>
            {VERDICTS.map((v) => <option key={v} value={v}>{v}</option>)}
          </select>
        </label>
        {list.error && <ErrorBox error={list.error} retry={list.reload} what="Could not load verdicts" />}
        {!list.data && !list.error && <Loading />}
        {list.data && (list.data.items.length === 0 ? <p className="hint">No videos with this verdict.</p> : (
          <table className="results">
            <thead><tr><th>Video</th><th>Verdict</th><th>Violations</th><th>Warnings</th><th>Policy</th><th>Judged</th></tr></thead>
            <tbody>
              {list.data.items.map((r) => (
                <tr key={r.video_id}>
                  <td><Link to={`/compliance/${r.video_id}`}>{r.title || r.video_id.slice(0, 8)}</Link></td>
                  <td><Verdict value={r.verdict} /></td><td>{r.violations}</td><td>{r.warnings}</td>
                  <td>{r.policy_name} v{r.policy_version}</td><td>{date(r.evaluated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
      </section>
    </>
  );
}

export function ComplianceReportPage() {
  const { id = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const policy = params.get("policy") ?? "";
  const q = policy ? `?policy=${encodeURIComponent(policy)}` : "";
  const rep = useLoad(() => authJson<Report>(`/api/v1/videos/${id}/compliance${q}`), [id, q]);
  const pols = useLoad(() => authJson<Policy[]>("/api/v1/compliance/policies"), []);
  const src = useLoad(() => api.GET("/api/v1/videos/{video_id}/download", { params: { path: { video_id: id } } })
    .then(unwrap).then((s) => sameOrigin(s.url)), [id]);
  const player = useRef<HTMLVideoElement>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const seek = useCallback((f: Finding) => {
    setSelected(f.id);
    const el = player.current;
    if (el) { el.currentTime = f.start_s; el.play().catch(() => undefined); }
  }, []);
  const [dlError, setDlError] = useState<string | null>(null);
  async function download(fmt: "html" | "pdf") {
    setDlError(null);
    const r = await authFetch(`/api/v1/videos/${id}/compliance.${fmt}${q}`);
    if (!r.ok) { setDlError(`Could not download the ${fmt.toUpperCase()} report (${r.status}).`); return; }
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await r.blob());
    a.download = `compliance-${id}.${fmt}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  if (rep.error) return <><h1>Compliance report</h1><ErrorBox error={rep.error} retry={rep.reload} what="No report for this video" /></>;
  if (!rep.data) return <><h1>Compliance report</h1><Loading label="Loading report…" /></>;
  const r = rep.data;
  return (
    <article className="compliance-report">
      <header className="page-head">
        <h1>Compliance report{r.title ? `: ${r.title}` : ""}</h1>
        <Verdict value={r.verdict} />
        <span className="hint">{r.counts.violation ?? 0} violation(s) · {r.counts.warning ?? 0} warning(s) · policy {r.policy.name} v{r.policy.version}</span>
      </header>
      <p>
        <label>Judge against{" "}
          <select aria-label="Policy" value={policy || r.policy.name} onChange={(e) => { setSelected(null); setParams({ policy: e.target.value }); }}>
            {(pols.data ?? [{ name: r.policy.name, builtin: !!r.policy.builtin } as Policy]).map((p) =>
              <option key={p.name} value={p.name}>{p.name}{p.builtin ? " (preset)" : ""}{p.is_default ? " · default" : ""}</option>)}
          </select>
        </label>{" "}
        <button type="button" className="secondary" onClick={() => void download("html")}>Download HTML</button>{" "}
        <button type="button" className="secondary" onClick={() => void download("pdf")}>Download PDF</button>{" "}
        <Link to={`/videos/${id}`}>Open video page</Link>
      </p>
      {dlError && <p role="alert" className="state error">{dlError}</p>}
      {src.data && <video ref={player} className="player" controls preload="metadata" src={src.data} aria-label="Video player" data-testid="player" />}
      <FindingsLane findings={r.findings} duration={r.video.duration_s ?? 0} selected={selected} onSeek={seek} />
      <h2>Checks</h2>
      <table className="results">
        <thead><tr><th>Check</th><th>Verdict</th><th>Severity</th><th>Findings</th></tr></thead>
        <tbody>{r.checks.map((c) => <tr key={c.check}><td>{c.check}</td><td><Verdict value={c.verdict} /></td><td>{c.severity}</td><td>{c.findings}</td></tr>)}</tbody>
      </table>
      {r.loudness && <LoudnessGraph loudness={r.loudness} target={Number(r.checks.find((c) => c.check === "loudness")?.measured.target_lufs ?? NaN)} />}
      <h2>Findings</h2>
      {r.findings.length === 0 ? <p className="hint">No findings.</p> : (
        <ol className="findings">
          {r.findings.map((f) => (
            <li key={f.id} className={`finding sev-${f.severity}${selected === f.id ? " selected" : ""}`}>
              <button type="button" className="link" onClick={() => seek(f)} aria-label={`${f.message} at ${clock(f.start_s)}`}>
                {clock(f.start_s)}–{clock(f.end_s)}
              </button>{" "}
              <strong>{f.check}</strong> · {f.severity} · {f.message}
              <div className="hint">{f.suggestion}</div>
              {typeof f.evidence.thumbnail_url === "string" && <img src={sameOrigin(f.evidence.thumbnail_url)} alt="Evidence (blurred)" width={120} />}
            </li>
          ))}
        </ol>
      )}
    </article>
  );
}

export function FindingsLane({ findings, duration, selected, onSeek }: { findings: Finding[]; duration: number; selected?: number | null; onSeek: (f: Finding) => void }) {
  const d = Math.max(duration, ...findings.map((f) => f.end_s), 0.001);
  const checks = [...new Set(findings.map((f) => f.check))]; // one row per check, so long findings hide nothing
  return (
    <section className="timeline" aria-label="Findings timeline">
      <div className="lane compliance-lane" style={{ height: `${Math.max(1, checks.length) * 1.5}rem` }}>
        {findings.slice(0, 300).map((f) => (
          <button key={f.id} type="button" className={`mark sev-${f.severity}${selected === f.id ? " selected" : ""}`} onClick={() => onSeek(f)}
                  style={{ left: `${(f.start_s / d) * 100}%`, width: `max(0.6rem, ${((f.end_s - f.start_s) / d) * 100}%)`,
                           top: `${checks.indexOf(f.check) * 1.5 + 0.1}rem` }}
                  aria-label={`Finding: ${f.message} at ${clock(f.start_s)}`} title={`${f.check} · ${f.message} · ${clock(f.start_s)}`}>
            <span aria-hidden="true">{f.check}</span>
          </button>
        ))}
      </div>
    </section>
  );
}

function LoudnessGraph({ loudness, target }: { loudness: NonNullable<Report["loudness"]>; target: number }) {
  const s = loudness.series;
  const W = 800, H = 160, dur = Math.max(s.t[s.t.length - 1] ?? 0, 0.1);
  const y = (v: number) => H - 10 - ((Math.max(-70, Math.min(0, v)) + 70) / 70) * (H - 20);
  const line = (vals: number[]) => vals.map((v, i) => `${((s.t[i] / dur) * W).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  return (
    <figure className="chart">
      <h2>Loudness</h2>
      <p>Integrated {loudness.integrated_lufs ?? "—"} LUFS · range {loudness.lra_lu ?? "—"} LU · true peak {loudness.true_peak_dbtp ?? "—"} dBTP</p>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Loudness over time">
        <polyline fill="none" stroke="#90caf9" points={line(s.momentary)} />
        <polyline fill="none" stroke="#0d47a1" points={line(s.short_term)} />
        {Number.isFinite(target) && <line x1={0} x2={W} y1={y(target)} y2={y(target)} className="quota" />}
      </svg>
      <figcaption className="hint">Momentary (light) and short-term (dark) loudness; dashed: the policy's target.</figcaption>
    </figure>
  );
}
