import { useState, type FormEvent } from "react";
import { api, unwrap } from "../api/client";
import { useAuth } from "../auth";
import { Empty, ErrorBox, Loading } from "../components/State";
import { bytes } from "../lib/format";
import { useLoad } from "../lib/useLoad";

export function OperatorPage() {
  const { me } = useAuth();
  if (!me) return <Loading />;
  if (!me.is_operator) return <Empty title="Operators only.">This page manages every tenant of the platform; ask a platform operator.</Empty>;
  return <OperatorConsole />;
}

function OperatorConsole() {
  const tenants = useLoad(() => api.GET("/api/v1/admin/tenants", { params: { query: { limit: 200 } } }).then(unwrap), []);
  const tiers = useLoad(() => api.GET("/api/v1/admin/tiers").then(unwrap), []);
  const [error, setError] = useState<string | null>(null);
  const blank = { name: "", owner_email: "", owner_password: "", tier: "free" };
  const [form, setForm] = useState(blank);

  async function act(fn: () => Promise<unknown>) {
    setError(null);
    try { await fn(); tenants.reload(); } catch (e) { setError(e instanceof Error ? e.message : String(e)); }
  }
  function create(e: FormEvent) {
    e.preventDefault();
    // an owner without an account needs a password; an existing user keeps theirs (the field stays empty)
    const body = { ...form, owner_password: form.owner_password || null };
    void act(async () => { unwrap(await api.POST("/api/v1/admin/tenants", { body })); setForm(blank); });
  }
  const tierNames = tiers.data?.map((t) => t.name) ?? ["free", "pro", "enterprise"];
  return (
    <>
      <h1>Operator</h1>
      {error && <p role="alert" className="state error">{error}</p>}
      <section aria-labelledby="tenants-h">
        <h2 id="tenants-h">Tenants</h2>
        <form className="toolbar" onSubmit={create}>
          <label>Name<input required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} /></label>
          <label>Owner e-mail<input type="email" required value={form.owner_email} onChange={(e) => setForm({ ...form, owner_email: e.target.value })} /></label>
          <label>Owner password<input type="password" autoComplete="new-password" value={form.owner_password} placeholder="only for a new account"
                                      onChange={(e) => setForm({ ...form, owner_password: e.target.value })} /></label>
          <label>Tier<select value={form.tier} onChange={(e) => setForm({ ...form, tier: e.target.value })}>{tierNames.map((t) => <option key={t}>{t}</option>)}</select></label>
          <button type="submit">Create tenant</button>
        </form>
        {tenants.error && <ErrorBox error={tenants.error} retry={tenants.reload} />}
        {!tenants.data && !tenants.error && <Loading />}
        {tenants.data && (
          <div className="table-wrap"><table>
            <thead><tr><th scope="col">Name</th><th scope="col">Slug</th><th scope="col">Tier</th><th scope="col">Status</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>{tenants.data.items.map((t) => (
              <tr key={t.id}><td>{t.name}</td><td>{t.slug}</td>
                <td><select aria-label={`Tier of ${t.name}`} value={t.tier} onChange={(e) => void act(async () =>
                  unwrap(await api.PATCH("/api/v1/admin/tenants/{tenant_id}", { params: { path: { tenant_id: t.id } }, body: { tier: e.target.value } })))}>
                  {tierNames.map((n) => <option key={n}>{n}</option>)}</select></td>
                <td><span className={`badge status-${t.status}`}>{t.status}</span></td>
                <td><button type="button" className={t.status === "active" ? "link danger" : "link"} onClick={() => void act(async () =>
                  unwrap(await api.PATCH("/api/v1/admin/tenants/{tenant_id}", { params: { path: { tenant_id: t.id } },
                    body: { status: t.status === "active" ? "suspended" : "active" } })))}>{t.status === "active" ? "Suspend" : "Reactivate"}</button></td>
              </tr>))}
            </tbody>
          </table></div>
        )}
      </section>
      <section aria-labelledby="tiers-h">
        <h2 id="tiers-h">Tiers</h2>
        {tiers.error && <ErrorBox error={tiers.error} retry={tiers.reload} />}
        {tiers.data && (
          <div className="table-wrap"><table>
            <thead><tr><th scope="col">Tier</th><th scope="col">Minutes / month</th><th scope="col">Storage</th><th scope="col">Max upload</th><th scope="col">Max duration</th><th scope="col">Concurrent jobs</th></tr></thead>
            <tbody>{tiers.data.map((t) => (
              <tr key={t.name}><td>{t.name}</td><td>{t.processing_minutes_per_month}</td><td>{bytes(t.storage_bytes)}</td>
                <td>{bytes(t.max_upload_bytes)}</td><td>{Math.round(t.max_duration_s / 60)} min</td><td>{t.concurrent_jobs}</td></tr>))}
            </tbody>
          </table></div>
        )}
      </section>
    </>
  );
}
