import { api, unwrap, type Schemas } from "../api/client";
import { useAuth } from "../auth";
import { ErrorBox, Loading } from "../components/State";
import { bytes } from "../lib/format";
import { useLoad } from "../lib/useLoad";

type UsageMonth = Schemas["UsageMonth"];
const MONTHS = 6;

/** The last `n` months as YYYY-MM, oldest first (the server's /usage/history computes the same window). */
export function lastMonths(n: number, now = new Date()): string[] {
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1));
    out.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`);
  }
  return out;
}

export function UsagePage() {
  const { session } = useAuth();
  // this month's totals with storage and tier, and the per-month history in one more call
  const usage = useLoad(() => Promise.all([
    api.GET("/api/v1/usage").then(unwrap),
    api.GET("/api/v1/usage/history", { params: { query: { months: MONTHS } } }).then(unwrap),
  ]), [session?.tenant?.id]);
  if (usage.error) return <><h1>Usage</h1><ErrorBox error={usage.error} retry={usage.reload} what="Could not load usage" /></>;
  if (!usage.data) return <><h1>Usage</h1><Loading /></>;
  const [cur, history] = usage.data;
  const quota = Number(cur.limits.processing_minutes_per_month ?? 0);
  const storageQuota = Number(cur.limits.storage_bytes ?? 0);
  return (
    <>
      <h1>Usage</h1>
      <p>Tier <strong>{cur.tier}</strong> · {cur.month}</p>
      <div className="meters">
        <Meter label="Processing minutes this month" value={cur.processing_minutes} max={quota} text={`${cur.processing_minutes.toFixed(1)} of ${quota} min`} />
        <Meter label="Storage" value={cur.storage_bytes} max={storageQuota} text={`${bytes(cur.storage_bytes)} of ${bytes(storageQuota)}`} />
        <p>API calls this month: <strong>{cur.api_calls}</strong></p>
      </div>
      <h2>Processing minutes per month</h2>
      <MinutesChart data={history.items} quota={quota} />
    </>
  );
}

function Meter({ label, value, max, text }: { label: string; value: number; max: number; text: string }) {
  const pct = max ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div className="meter">
      <span>{label}: {text}{pct >= 80 && <strong className="reject"> — close to the limit</strong>}</span>
      <meter min={0} max={max || 1} value={value} high={max * 0.8} optimum={0} aria-label={label} />
    </div>
  );
}

/** Bars per month against the tier's monthly quota (dashed line). */
export function MinutesChart({ data, quota }: { data: UsageMonth[]; quota: number }) {
  const W = 600, H = 220, pad = 32;
  const top = Math.max(quota, ...data.map((d) => d.processing_minutes), 1);
  const bw = (W - pad * 2) / data.length;
  const y = (v: number) => H - pad - (v / top) * (H - pad * 2);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Processing minutes for the last ${data.length} months`}>
        {data.map((d, i) => (
          <g key={d.month}>
            <rect x={pad + i * bw + 6} y={y(d.processing_minutes)} width={bw - 12} height={H - pad - y(d.processing_minutes)} className="bar" />
            <text x={pad + i * bw + bw / 2} y={H - 10} textAnchor="middle">{d.month}</text>
            <text x={pad + i * bw + bw / 2} y={y(d.processing_minutes) - 4} textAnchor="middle">{d.processing_minutes.toFixed(1)}</text>
          </g>
        ))}
        {quota > 0 && <line x1={pad} x2={W - pad} y1={y(quota)} y2={y(quota)} className="quota" />}
        {quota > 0 && <text x={W - pad} y={y(quota) - 4} textAnchor="end">quota {quota} min</text>}
      </svg>
      <figcaption className="sr-only">{data.map((d) => `${d.month}: ${d.processing_minutes.toFixed(1)} minutes`).join("; ")}</figcaption>
    </figure>
  );
}
