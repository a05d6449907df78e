// The typed API client (generated from openapi.json) with bearer auth and one retry after a
// refresh when a request comes back 401.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { accessToken, CONSOLE_HEADERS, loadSession, refreshSession, saveSession } from "./session";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

const retryable = new Map<string, Request>();

const auth: Middleware = {
  async onRequest({ request, id }) {
    const token = await accessToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    for (const [k, v] of Object.entries(CONSOLE_HEADERS)) request.headers.set(k, v);
    if (!request.url.includes("/auth/")) retryable.set(id, request.clone());
    return request;
  },
  async onResponse({ response, id }) {
    const original = retryable.get(id);
    retryable.delete(id);
    if (response.status !== 401 || !original) return response;
    const next = loadSession() ? await refreshSession().catch(() => null) : null;
    if (!next) {
      saveSession(null);
      return response;
    }
    original.headers.set("Authorization", `Bearer ${next.access}`);
    return fetch(original);
  },
};

// Same origin as the console; fetch looked up per call (not captured once) so tests can stub it.
export const api = createClient<paths>({
  baseUrl: typeof window !== "undefined" ? window.location.origin : "",
  fetch: (req: Request) => globalThis.fetch(req),
});
api.use(auth);

/** Turns a problem+json body (or anything else) into a readable ApiError. */
export function toError(status: number, body: unknown): ApiError {
  const p = (body ?? {}) as Partial<Problem> & { detail?: unknown };
  if (Array.isArray(p.detail)) { // FastAPI validation errors
    const first = p.detail[0] as { msg?: string; loc?: unknown[] } | undefined;
    return new ApiError(status, "request.invalid", first?.msg ?? "The request was not valid.");
  }
  let message = typeof p.detail === "string" ? p.detail : p.title ?? `Request failed (${status})`;
  // request.invalid carries field errors: say which field and why, not only "does not match the schema"
  const errors = (p as { errors?: { loc?: unknown[]; msg?: string }[] }).errors;
  const e = Array.isArray(errors) ? errors[0] : undefined;
  if (e?.msg) message = `${message} ${e.loc?.filter((l) => l !== "body").join(".") || "request"}: ${e.msg}`;
  return new ApiError(status, p.code ?? `http.${status}`, message);
}

/** Data of an openapi-fetch result, or throws its problem as an ApiError. */
export function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.error !== undefined || !r.response.ok) throw toError(r.response.status, r.error);
  return r.data as T;
}

/** Authenticated fetch for what the typed client cannot express (streams, text, new routes). */
export async function authFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const send = async (token: string | null) => {
    const headers = new Headers(init.headers);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    return fetch(path, { ...init, headers });
  };
  let r = await send(await accessToken());
  if (r.status === 401) {
    const next = loadSession() ? await refreshSession().catch(() => null) : null;
    if (!next) {
      saveSession(null);
      return r;
    }
    r = await send(next.access);
  }
  return r;
}

/** JSON from authFetch, throwing the server's problem on failure. */
export async function authJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (init.body && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  const r = await authFetch(path, { ...init, headers });
  const body = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) throw toError(r.status, body);
  return body as T;
}

/** Signed blob links are absolute to the configured public URL; the console is same-origin. */
export function sameOrigin(url: string): string {
  try {
    const u = new URL(url, window.location.origin);
    return u.pathname.startsWith("/api/") ? `${u.pathname}${u.search}` : url;
  } catch {
    return url;
  }
}
