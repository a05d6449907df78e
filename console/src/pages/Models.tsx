// Custom models: build a Q&A dataset from videos, review it, train on it (plan limits shown), watch
// the loss, compare the fine-tuned model with its base, activate / roll back / delete; the glossary.
import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { canWrite, useAuth } from "../auth";
import { Empty, ErrorBox, Loading } from "../components/State";
import { bytes, clock } from "../lib/format";
import { useLoad } from "../lib/useLoad";

type Dataset = Schemas["DatasetPublic"];
type Item = Schemas["ItemPublic"];
type Model = Schemas["ModelPublic"];
type Point = { step: number; loss: number };
type Metrics = { exact_match: number | null; token_f1: number | null; rouge_l: number | null; faithfulness: number | null; n: number };

export function ModelsPage() {
  const { session } = useAuth();
  const editable = canWrite(session?.role);
  const [error, setError] = useState<string | null>(null);
  const datasets = useLoad(() => api.GET("/api/v1/datasets", { params: { query: { limit: 50 } } }).then(unwrap), [session?.tenant?.id]);
  const models = useLoad(() => api.GET("/api/v1/models", { params: { query: { limit: 50 } } }).then(unwrap), [session?.tenant?.id]);
  const plan = useLoad(() => api.GET("/api/v1/training/plan").then(unwrap) as Promise<Record<string, unknown>>, [session?.tenant?.id]);
  const [open, setOpen] = useState<string | null>(null);
  const running = models.data?.items.some((m) => m.status === "queued" || m.status === "running");
  const building = datasets.data?.items.some((d) => d.status === "building");
  useEffect(() => {
    if (!running && !building) return;
    const t = setInterval(() => { models.reload(); datasets.reload(); }, 1500);
    return () => clearInterval(t);
  }, [running, building, models, datasets]);

  async function act(fn: () => Promise<unknown>) {
    setError(null);
    try { await fn(); models.reload(); datasets.reload(); } catch (e) { setError(e instanceof Error ? e.message : String(e)); }
  }

  return (
    <>
      <h1>Custom models</h1>
      <p className="hint">Question–answer datasets made from your transcripts, models fine-tuned on them, and the one Ask answers with.</p>
      {error && <p role="alert" className="state error">{error}</p>}
      <section aria-labelledby="ds-h">
        <h2 id="ds-h">Datasets</h2>
        {editable && <NewDataset act={act} />}
        {datasets.error && <ErrorBox error={datasets.error} retry={datasets.reload} what="Could not load datasets" />}
        {datasets.loading && !datasets.data && <Loading />}
        {datasets.data?.items.length === 0 && <Empty title="No datasets yet.">Create one from your processed videos.</Empty>}
        <table aria-label="Datasets">
          <thead><tr><th>Name</th><th>Status</th><th>Version</th><th>Train</th><th>Validation</th><th>Test</th><th /></tr></thead>
          <tbody>
            {datasets.data?.items.map((d) => (
              <tr key={d.id}>
                <td>{d.name}</td><td>{d.status}</td><td>v{d.version}</td>
                <td>{String(d.counts.train ?? 0)}</td><td>{String(d.counts.validation ?? 0)}</td><td>{String(d.counts.test ?? 0)}</td>
                <td><button type="button" className="link" aria-expanded={open === d.id} onClick={() => setOpen(open === d.id ? null : d.id)}>Review</button></td>
              </tr>
            ))}
          </tbody>
        </table>
        {open && <Review key={open} id={open} editable={editable} act={act} />}
      </section>
      <section aria-labelledby="tr-h">
        <h2 id="tr-h">Train</h2>
        {plan.data && <PlanLimits plan={plan.data} />}
        {editable && plan.data?.allowed === true && <StartTraining datasets={datasets.data?.items ?? []} plan={plan.data} act={act} />}
      </section>
      <section aria-labelledby="m-h">
        <h2 id="m-h">Models</h2>
        {models.data?.items.length === 0 && <Empty title="No models yet." />}
        <ul className="models" aria-label="Models">
          {models.data?.items.map((m) => <ModelCard key={m.id} m={m} editable={editable} act={act} />)}
        </ul>
        {editable && models.data?.items.some((m) => m.active) && (
          <button type="button" className="secondary" onClick={() => void act(async () => unwrap(await api.POST("/api/v1/models/rollback")))}>Roll back to the previous model</button>
        )}
      </section>
      <Glossary editable={editable} />
    </>
  );
}

function NewDataset({ act }: { act: (fn: () => Promise<unknown>) => Promise<void> }) {
  const [name, setName] = useState("Library Q&A");
  return (
    <form className="toolbar" onSubmit={(e) => { e.preventDefault(); void act(async () => unwrap(await api.POST("/api/v1/datasets", { body: { name, video_ids: [], all_ready: true } }))); }}>
      <label>Name <input value={name} onChange={(e) => setName(e.target.value)} /></label>
      <button type="submit">Create from all transcribed videos</button>
    </form>
  );
}

function Review({ id, editable, act }: { id: string; editable: boolean; act: (fn: () => Promise<unknown>) => Promise<void> }) {
  const [split, setSplit] = useState<"" | "train" | "validation" | "test">("");
  const [cursor, setCursor] = useState<string | null>(null);
  const items = useLoad(() => api.GET("/api/v1/datasets/{dataset_id}/items", {
    params: { path: { dataset_id: id }, query: { limit: 20, ...(split ? { split } : {}), ...(cursor ? { cursor } : {}) } },
  }).then(unwrap), [id, split, cursor]);
  return (
    <div className="review">
      <div className="toolbar">
        <label>Split <select value={split} onChange={(e) => { setCursor(null); setSplit(e.target.value as typeof split); }}>
          <option value="">all</option><option value="train">train</option><option value="validation">validation</option><option value="test">test</option>
        </select></label>
        <a href={`/api/v1/datasets/${id}/export`} className="link">Export JSONL</a>
      </div>
      {items.loading && !items.data && <Loading />}
      <table aria-label="Dataset items">
        <thead><tr><th>Question</th><th>Answer</th><th>Split</th><th>Span</th><th>How</th><th /></tr></thead>
        <tbody>{items.data?.items.map((it) => <ItemRow key={it.id} ds={id} it={it} editable={editable} act={async (fn) => { await act(fn); items.reload(); }} />)}</tbody>
      </table>
      {items.data?.next_cursor && <button type="button" className="secondary" onClick={() => setCursor(items.data?.next_cursor ?? null)}>Next page</button>}
    </div>
  );
}

function ItemRow({ ds, it, editable, act }: { ds: string; it: Item; editable: boolean; act: (fn: () => Promise<unknown>) => Promise<void> }) {
  const [answer, setAnswer] = useState(it.answer);
  const path = { params: { path: { dataset_id: ds, item_id: it.id } } };
  return (
    <tr>
      <td>{it.question}</td>
      <td>{editable ? (
        <form onSubmit={(e) => { e.preventDefault(); void act(async () => unwrap(await api.PATCH("/api/v1/datasets/{dataset_id}/items/{item_id}", { ...path, body: { answer } }))); }}>
          <label className="sr-only" htmlFor={`a-${it.id}`}>Answer</label>
          <input id={`a-${it.id}`} value={answer} onChange={(e) => setAnswer(e.target.value)} />
        </form>) : it.answer}</td>
      <td>{it.split}</td><td>{clock(it.start)}–{clock(it.end)}</td><td>{it.source} · {it.status}</td>
      <td>{editable && <button type="button" className="link danger" onClick={() => void act(async () => unwrap(await api.DELETE("/api/v1/datasets/{dataset_id}/items/{item_id}", path)))}>Delete</button>}</td>
    </tr>
  );
}

function PlanLimits({ plan }: { plan: Record<string, unknown> }) {
  if (plan.allowed !== true) return <p className="state">Training custom models is not part of the {String(plan.tier)} plan.</p>;
  return <p className="hint" aria-label="Plan limits">Plan {String(plan.tier)}: up to {String(plan.max_steps)} steps, {String(plan.max_concurrent)} training(s) at a time, base models up to {String(plan.max_base_params_m)} M parameters.</p>;
}

function StartTraining({ datasets, plan, act }: { datasets: Dataset[]; plan: Record<string, unknown>; act: (fn: () => Promise<unknown>) => Promise<void> }) {
  const ready = datasets.filter((d) => d.status === "ready");
  const bases = (plan.base_models as { name: string }[]) ?? [];
  const [ds, setDs] = useState("");
  const [base, setBase] = useState(bases[0]?.name ?? "smollm2-135m");
  const [method, setMethod] = useState<"lora" | "full">("lora");
  const [steps, setSteps] = useState(30);
  const chosen = ds || ready[0]?.id || "";
  return (
    <form className="toolbar" onSubmit={(e) => { e.preventDefault(); void act(async () => unwrap(await api.POST("/api/v1/models", { body: { dataset_id: chosen, base_model: base, method, max_steps: steps } }))); }}>
      <label>Dataset <select value={chosen} onChange={(e) => setDs(e.target.value)}>{ready.map((d) => <option key={d.id} value={d.id}>{d.name} v{d.version}</option>)}</select></label>
      <label>Base <select value={base} onChange={(e) => setBase(e.target.value)}>{bases.map((b) => <option key={b.name}>{b.name}</option>)}</select></label>
      <label>Method <select value={method} onChange={(e) => setMethod(e.target.value as "lora" | "full")}><option value="lora">LoRA</option><option value="full">full</option></select></label>
      <label>Steps <input type="number" min={1} max={Number(plan.max_steps)} value={steps} onChange={(e) => setSteps(Number(e.target.value))} /></label>
      <button type="submit" disabled={!chosen}>Start training</button>
    </form>
  );
}

function LossCurve({ points }: { points: Point[] }) {
  if (points.length < 2) return null;
  const w = 240, h = 60, maxS = points[points.length - 1].step, minS = points[0].step;
  const losses = points.map((p) => p.loss), hi = Math.max(...losses), lo = Math.min(...losses);
  const xy = points.map((p) => `${((p.step - minS) / Math.max(1, maxS - minS)) * w},${h - ((p.loss - lo) / Math.max(1e-9, hi - lo)) * h}`).join(" ");
  return <svg width={w} height={h} role="img" aria-label={`Loss curve, ${losses[0].toFixed(2)} to ${losses[losses.length - 1].toFixed(2)}`}><polyline fill="none" stroke="currentColor" strokeWidth="2" points={xy} /></svg>;
}

function fmt(v: number | null | undefined) { return v == null ? "–" : v.toFixed(3); }

function ModelCard({ m, editable, act }: { m: Model; editable: boolean; act: (fn: () => Promise<unknown>) => Promise<void> }) {
  const path = { params: { path: { model_id: m.id } } };
  const progress = (m.job?.progress ?? {}) as { step?: number; max_steps?: number; loss?: number; eta_s?: number; phase?: string; history?: Point[] };
  const metrics = m.metrics as { fine_tuned?: Metrics; base?: Metrics };
  return (
    <li className="card model" aria-label={`Model ${m.id.slice(0, 8)}`}>
      <p><strong>{m.base_model}</strong> · {m.method} · dataset v{m.dataset_version} · <span className="status">{m.status}</span>{m.active && <strong> · active</strong>}</p>
      {(m.status === "running" || m.status === "queued") && (
        <p aria-live="polite">Step {progress.step ?? 0}/{progress.max_steps ?? "?"} {progress.loss != null && `· loss ${progress.loss.toFixed(3)}`} {progress.eta_s != null && `· ETA ${clock(progress.eta_s)}`} {progress.phase && `· ${progress.phase}`}</p>
      )}
      <LossCurve points={progress.history ?? []} />
      {metrics.fine_tuned && metrics.base && (
        <table aria-label="Evaluation">
          <thead><tr><th /><th>EM</th><th>token F1</th><th>ROUGE-L</th><th>faithfulness</th></tr></thead>
          <tbody>
            <tr><th>fine-tuned</th><td>{fmt(metrics.fine_tuned.exact_match)}</td><td>{fmt(metrics.fine_tuned.token_f1)}</td><td>{fmt(metrics.fine_tuned.rouge_l)}</td><td>{fmt(metrics.fine_tuned.faithfulness)}</td></tr>
            <tr><th>base</th><td>{fmt(metrics.base.exact_match)}</td><td>{fmt(metrics.base.token_f1)}</td><td>{fmt(metrics.base.rouge_l)}</td><td>{fmt(metrics.base.faithfulness)}</td></tr>
          </tbody>
        </table>
      )}
      {m.beats_base === false && <p className="state">This version does not beat its base model.</p>}
      {m.size_bytes > 0 && <p className="hint">{bytes(m.size_bytes)}</p>}
      {editable && (
        <div className="row">
          {m.status === "succeeded" && !m.active && <button type="button" onClick={() => void act(async () => unwrap(await api.POST("/api/v1/models/{model_id}/activate", path)))}>Activate for Ask</button>}
          {(m.status === "running" || m.status === "queued") && <button type="button" className="secondary" onClick={() => void act(async () => unwrap(await api.POST("/api/v1/models/{model_id}/cancel", path)))}>Cancel</button>}
          <button type="button" className="link danger" onClick={() => { if (confirm("Delete this model version and its weights?")) void act(async () => unwrap(await api.DELETE("/api/v1/models/{model_id}", path))); }}>Delete</button>
        </div>
      )}
    </li>
  );
}

function Glossary({ editable }: { editable: boolean }) {
  const g = useLoad(() => api.GET("/api/v1/glossary").then(unwrap), []);
  const [text, setText] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const value = text ?? (g.data?.terms ?? []).join("\n");
  return (
    <section aria-labelledby="g-h">
      <h2 id="g-h">Glossary</h2>
      <p className="hint">Product names, people and jargon, one per line: transcription is biased to spell them this way.</p>
      <form onSubmit={(e) => { e.preventDefault(); void (async () => {
        unwrap(await api.PUT("/api/v1/glossary", { body: { terms: value.split("\n").map((t) => t.trim()).filter(Boolean), video_hints: g.data?.video_hints ?? {} } }));
        setSaved(true); g.reload(); })(); }}>
        <label className="sr-only" htmlFor="glossary">Glossary terms</label>
        <textarea id="glossary" rows={5} value={value} readOnly={!editable} onChange={(e) => { setSaved(false); setText(e.target.value); }} />
        {editable && <button type="submit">Save glossary</button>} {saved && <span role="status">Saved</span>}
      </form>
    </section>
  );
}
