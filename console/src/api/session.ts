// The signed-in session. The access token lives in this page's memory only; the refresh token
// lives in an HttpOnly, SameSite=Strict cookie that page scripts cannot read (so an injected
// script cannot steal a long-lived credential). A reload or a new tab gets an access token by
// refreshing through the cookie. Refresh tokens rotate on every use, so refreshing is single-flight
// (one per tab, serialised across tabs with Web Locks where available: the next tab then sends
// the cookie the previous one just rotated). Signing out in one tab signs out every tab.
import type { components } from "./schema";

export type TenantRef = components["schemas"]["TenantRef"];
export type TokenResponse = components["schemas"]["TokenResponse"];

export interface Session {
  access: string;
  expiresAt: number; // epoch ms
  tenant: TenantRef | null;
  role: string | null;
}

/** Sent with every auth call: asks the server for cookie mode (and no refresh token in JSON). */
export const CONSOLE_HEADERS = { "X-Clipdex-Client": "console" } as const;
const EARLY_MS = 60_000; // refresh this long before the access token expires
type Listener = (s: Session | null) => void;
const listeners = new Set<Listener>();
let current: Session | null = null;
let inflight: Promise<Session | null> | null = null;
const channel: BroadcastChannel | null =
  typeof BroadcastChannel !== "undefined" ? new BroadcastChannel("clipdex.session") : null;

export function loadSession(): Session | null {
  return current;
}

export function fromTokens(t: TokenResponse, now = Date.now()): Session {
  return { access: t.access_token, expiresAt: now + t.expires_in * 1000, tenant: t.tenant ?? null,
           role: t.role ?? null };
}

export function saveSession(s: Session | null, broadcast = true): void {
  const signedOut = current !== null && s === null;
  current = s;
  if (signedOut && broadcast) channel?.postMessage("signout");
  listeners.forEach((l) => l(s));
}

export function onSessionChange(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

if (channel) {
  channel.onmessage = (e) => {
    if (e.data === "signout") saveSession(null, false);
  };
}

async function postRefresh(): Promise<Session | null> {
  const r = await fetch("/api/v1/auth/refresh", {
    method: "POST", credentials: "same-origin", headers: { ...CONSOLE_HEADERS },
  });
  if (r.status === 401 || r.status === 403) return null; // no cookie, revoked or expired: signed out
  if (!r.ok) throw new Error(`refresh failed (${r.status})`); // transient: keep the session
  return fromTokens((await r.json()) as TokenResponse);
}

async function doRefresh(): Promise<Session | null> {
  const next = await postRefresh();
  saveSession(next);
  return next;
}

/** Rotates the cookie once and returns a fresh session, however many callers ask at once. */
export function refreshSession(): Promise<Session | null> {
  if (!inflight) {
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    const run = (): Promise<Session | null> => doRefresh();
    const p: Promise<Session | null> = locks ? (locks.request("clipdex-refresh", run) as unknown as Promise<Session | null>) : run();
    inflight = p.finally(() => { inflight = null; });
  }
  return inflight as Promise<Session | null>;
}

/** On page load: a session from the refresh cookie, if the browser has a valid one. */
export async function restoreSession(): Promise<Session | null> {
  if (current) return current;
  try {
    return await refreshSession();
  } catch {
    return null;
  }
}

/** An access token valid for at least a minute, refreshing first when needed; null when signed out. */
export async function accessToken(): Promise<string | null> {
  const s = current;
  if (!s) return null;
  if (s.expiresAt - Date.now() > EARLY_MS) return s.access;
  try {
    return (await refreshSession())?.access ?? null;
  } catch {
    return s.access; // network hiccup: try the old token; a 401 will retry the refresh
  }
}
