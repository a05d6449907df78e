import { useState, type FormEvent } from "react";
import { api, unwrap } from "../api/client";
import { canManage, useAuth } from "../auth";
import { Empty, ErrorBox, Loading } from "../components/State";
import { date } from "../lib/format";
import { useLoad } from "../lib/useLoad";

const ROLES = ["viewer", "member", "admin", "owner"] as const;
type Role = (typeof ROLES)[number];

export function TeamPage() {
  const { session } = useAuth();
  const manage = canManage(session?.role);
  const tid = session?.tenant?.id;
  const members = useLoad(() => api.GET("/api/v1/members", { params: { query: { limit: 200 } } }).then(unwrap), [tid]);
  const invites = useLoad(() => (manage ? api.GET("/api/v1/invitations", { params: { query: { limit: 200 } } }).then(unwrap) : Promise.resolve(null)), [tid, manage]);
  const keys = useLoad(() => (manage ? api.GET("/api/v1/api-keys", { params: { query: { limit: 200 } } }).then(unwrap) : Promise.resolve(null)), [tid, manage]);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);

  async function act(fn: () => Promise<unknown>, reload: () => void) {
    setError(null);
    try { await fn(); reload(); } catch (e) { setError(e instanceof Error ? e.message : String(e)); }
  }

  return (
    <>
      <h1>Team</h1>
      {error && <p role="alert" className="state error">{error}</p>}
      {secret && (
        <div className="card secret" role="status">
          <p><strong>{secret.label}</strong> — copy it now; it is shown only once.</p>
          <code data-testid="secret">{secret.value}</code>
          <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(secret.value)}>Copy</button>
          <button type="button" className="link" onClick={() => setSecret(null)}>I have saved it</button>
        </div>
      )}
      <section aria-labelledby="members-h">
        <h2 id="members-h">Members</h2>
        {members.error && <ErrorBox error={members.error} retry={members.reload} />}
        {!members.data && !members.error && <Loading />}
        {members.data && (
          <div className="table-wrap"><table>
            <thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Joined</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>{members.data.items.map((m) => (
              <tr key={m.user_id}>
                <td>{m.name || "–"}</td><td>{m.email}</td>
                <td>{manage ? (
                  <select aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => void act(async () =>
                    unwrap(await api.PATCH("/api/v1/members/{user_id}", { params: { path: { user_id: m.user_id } }, body: { role: e.target.value as Role } })), members.reload)}>
                    {ROLES.map((r) => <option key={r}>{r}</option>)}
                  </select>) : m.role}</td>
                <td>{date(m.joined_at)}</td>
                <td>{manage && <button type="button" className="link danger" onClick={() => {
                  if (confirm(`Remove ${m.email} from this tenant?`)) void act(async () => unwrap(await api.DELETE("/api/v1/members/{user_id}", { params: { path: { user_id: m.user_id } } })), members.reload);
                }}>Remove</button>}</td>
              </tr>))}
            </tbody>
          </table></div>
        )}
      </section>
      {manage ? (
        <>
          <Invitations data={invites.data?.items} error={invites.error} reload={invites.reload} act={act} onSecret={setSecret} />
          <ApiKeys data={keys.data?.items} error={keys.error} reload={keys.reload} act={act} onSecret={setSecret} />
        </>
      ) : <p className="hint">Owners and admins manage invitations and API keys.</p>}
    </>
  );
}

type Act = (fn: () => Promise<unknown>, reload: () => void) => Promise<void>;

function Invitations({ data, error, reload, act, onSecret }: {
  data?: { id: string; email: string; role: string; expires_at: string; accepted_at?: string | null }[]; error: Error | null;
  reload: () => void; act: Act; onSecret: (s: { label: string; value: string }) => void;
}) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  function submit(e: FormEvent) {
    e.preventDefault();
    void act(async () => {
      const inv = unwrap(await api.POST("/api/v1/invitations", { body: { email, role } }));
      onSecret({ label: `Invitation token for ${inv.email}`, value: inv.token });
      setEmail("");
    }, reload);
  }
  return (
    <section aria-labelledby="inv-h">
      <h2 id="inv-h">Invitations</h2>
      <form className="toolbar" onSubmit={submit}>
        <label>E-mail<input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} /></label>
        <label>Role<select value={role} onChange={(e) => setRole(e.target.value as Role)}>{ROLES.map((r) => <option key={r}>{r}</option>)}</select></label>
        <button type="submit">Invite</button>
      </form>
      {error && <ErrorBox error={error} retry={reload} />}
      {data?.length === 0 && <p className="hint">No open invitations.</p>}
      {data && data.length > 0 && (
        <ul className="plain">{data.map((i) => (
          <li key={i.id}>{i.email} · {i.role} · {i.accepted_at ? "accepted" : `expires ${date(i.expires_at)}`}{" "}
            {!i.accepted_at && <button type="button" className="link danger" onClick={() => void act(async () =>
              unwrap(await api.DELETE("/api/v1/invitations/{invitation_id}", { params: { path: { invitation_id: i.id } } })), reload)}>Revoke</button>}
          </li>))}
        </ul>
      )}
    </section>
  );
}

function ApiKeys({ data, error, reload, act, onSecret }: {
  data?: { id: string; name: string; prefix: string; created_at: string; last_used_at?: string | null; revoked_at?: string | null }[];
  error: Error | null; reload: () => void; act: Act; onSecret: (s: { label: string; value: string }) => void;
}) {
  const [name, setName] = useState("");
  const [write, setWrite] = useState(false);
  function submit(e: FormEvent) {
    e.preventDefault();
    void act(async () => {
      const k = unwrap(await api.POST("/api/v1/api-keys", { body: { name, scopes: write ? ["read", "write"] : ["read"] } }));
      onSecret({ label: `API key “${k.name}”`, value: k.secret });
      setName("");
    }, reload);
  }
  return (
    <section aria-labelledby="keys-h">
      <h2 id="keys-h">API keys</h2>
      <form className="toolbar" onSubmit={submit}>
        <label>Name<input required value={name} onChange={(e) => setName(e.target.value)} placeholder="CI uploader" /></label>
        <label className="inline"><input type="checkbox" checked={write} onChange={(e) => setWrite(e.target.checked)} /> May upload and edit (write)</label>
        <button type="submit">Create key</button>
      </form>
      {error && <ErrorBox error={error} retry={reload} />}
      {data?.length === 0 && <Empty title="No API keys.">Create one to upload or search from scripts; the secret is shown once.</Empty>}
      {data && data.length > 0 && (
        <div className="table-wrap"><table>
          <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
          <tbody>{data.map((k) => (
            <tr key={k.id}><td>{k.name}</td><td><code>{k.prefix}…</code></td><td>{date(k.created_at)}</td><td>{date(k.last_used_at)}</td>
              <td>{k.revoked_at ? "revoked" : <button type="button" className="link danger" onClick={() => void act(async () =>
                unwrap(await api.DELETE("/api/v1/api-keys/{key_id}", { params: { path: { key_id: k.id } } })), reload)}>Revoke</button>}</td></tr>))}
          </tbody>
        </table></div>
      )}
    </section>
  );
}
