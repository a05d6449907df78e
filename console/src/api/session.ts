// The signed-in session: tokens kept in localStorage so a reload or a second tab stays signed in.
// Refresh tokens rotate on every use, so refreshing is single-flight (one per tab, serialised
// across tabs with Web Locks where available) and a tab adopts tokens another tab just rotated.
import type { components } from "./schema";

export type TenantRef = components["schemas"]["TenantRef"];
export type TokenResponse = components["schemas"]["TokenResponse"];

export interface Session {
  access: string;
  refresh: string;
  expiresAt: number; // epoch ms
  tenant: TenantRef | null;
  role: string | null;
}

const KEY = "clipdex.session";
const EARLY_MS = 60_000; // refresh this long before the access token expires
type Listener = (s: Session | null) => void;
const listeners = new Set<Listener>();
let inflight: Promise<Session | null> | null = null;

export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function fromTokens(t: TokenResponse, now = Date.now()): Session {
  return { access: t.access_token, refresh: t.refresh_token, expiresAt: now + t.expires_in * 1000,
           tenant: t.tenant ?? null, role: t.role ?? null };
}

export function saveSession(s: Session | null): void {
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
  listeners.forEach((l) => l(s));
}

export function onSessionChange(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

if (typeof window !== "undefined") {
  window.addEventListener("storage", (e) => {
    if (e.key === KEY) listeners.forEach((l) => l(loadSession()));
  });
}

async function postRefresh(refresh: string): Promise<Session | null> {
  const r = await fetch("/api/v1/auth/refresh", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: refresh }),
  });
  if (r.status === 401 || r.status === 403) return null; // revoked or expired: really signed out
  if (!r.ok) throw new Error(`refresh failed (${r.status})`); // transient: keep the session
  return fromTokens((await r.json()) as TokenResponse);
}

async function doRefresh(stale: Session): Promise<Session | null> {
  const current = loadSession();
  if (!current) return null;
  if (current.refresh !== stale.refresh && current.expiresAt - Date.now() > EARLY_MS) return current;
  const next = await postRefresh(current.refresh);
  saveSession(next);
  return next;
}

/** Rotates the tokens once, however many callers ask at the same time. */
export function refreshSession(stale: Session): Promise<Session | null> {
  if (!inflight) {
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    const run = (): Promise<Session | null> => doRefresh(stale);
    const p: Promise<Session | null> = locks ? (locks.request("clipdex-refresh", run) as unknown as Promise<Session | null>) : run();
    inflight = p.finally(() => { inflight = null; });
  }
  return inflight as Promise<Session | null>;
}

/** An access token valid for at least a minute, refreshing first when needed; null when signed out. */
export async function accessToken(): Promise<string | null> {
  const s = loadSession();
  if (!s) return null;
  if (s.expiresAt - Date.now() > EARLY_MS) return s.access;
  try {
    return (await refreshSession(s))?.access ?? null;
  } catch {
    return s.access; // network hiccup: try the old token; a 401 will retry the refresh
  }
}
