import { afterEach, describe, expect, it, vi } from "vitest";
import { accessToken, loadSession, restoreSession, saveSession, type Session } from "../src/api/session";

const tokens = (n: number) => ({ access_token: `a${n}`, refresh_token: null, token_type: "bearer", expires_in: 900,
  tenant: { id: "t", name: "Acme", slug: "acme", tier: "free" }, role: "owner" });

function stale(): Session {
  return { access: "a0", expiresAt: Date.now() + 10_000, tenant: null, role: "owner" };
}

afterEach(() => {
  vi.unstubAllGlobals();
  saveSession(null, false);
});

describe("session refresh", () => {
  it("rotates once for concurrent callers, through the cookie (refresh tokens are single-use)", async () => {
    saveSession(stale());
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => new Response(JSON.stringify(tokens(1)), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    const got = await Promise.all([accessToken(), accessToken(), accessToken()]);
    expect(got).toEqual(["a1", "a1", "a1"]);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const init = fetchMock.mock.calls[0][1] as RequestInit;
    expect(init.credentials).toBe("same-origin");
    expect((init.headers as Record<string, string>)["X-Clipdex-Client"]).toBe("console");
    expect(init.body).toBeUndefined(); // the refresh token is never handled by page scripts
  });

  it("keeps nothing in web storage", async () => {
    saveSession({ ...stale(), expiresAt: Date.now() + 600_000 });
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(JSON.stringify(loadSession())).not.toContain("refresh");
  });

  it("keeps a fresh token without asking the server", async () => {
    saveSession({ ...stale(), expiresAt: Date.now() + 600_000 });
    const fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
    expect(await accessToken()).toBe("a0");
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("signs out only when the server rejects the refresh cookie", async () => {
    saveSession(stale());
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}", { status: 503 })));
    expect(await accessToken()).toBe("a0"); // a server hiccup is no reason to log the user out
    expect(loadSession()).not.toBeNull();
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}", { status: 401 })));
    expect(await accessToken()).toBeNull();
    expect(loadSession()).toBeNull();
  });

  it("restores a session on page load from the cookie, or none", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(tokens(2)), { status: 200 })));
    expect((await restoreSession())?.access).toBe("a2");
    saveSession(null, false);
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}", { status: 401 })));
    expect(await restoreSession()).toBeNull();
  });
});
