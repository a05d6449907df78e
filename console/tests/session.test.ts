import { afterEach, describe, expect, it, vi } from "vitest";
import { accessToken, loadSession, saveSession, type Session } from "../src/api/session";

const tokens = (n: number) => ({ access_token: `a${n}`, refresh_token: `r${n}`, token_type: "bearer", expires_in: 900,
  tenant: { id: "t", name: "Acme", slug: "acme", tier: "free" }, role: "owner" });

function stale(): Session {
  return { access: "a0", refresh: "r0", expiresAt: Date.now() + 10_000, tenant: null, role: "owner" };
}

afterEach(() => vi.unstubAllGlobals());

describe("session refresh", () => {
  it("rotates once for concurrent callers (refresh tokens are single-use)", async () => {
    saveSession(stale());
    const fetchMock = vi.fn(async () => new Response(JSON.stringify(tokens(1)), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    const got = await Promise.all([accessToken(), accessToken(), accessToken()]);
    expect(got).toEqual(["a1", "a1", "a1"]);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(loadSession()?.refresh).toBe("r1");
  });

  it("keeps a fresh token without asking the server", async () => {
    saveSession({ ...stale(), expiresAt: Date.now() + 600_000 });
    const fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
    expect(await accessToken()).toBe("a0");
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("signs out only when the server rejects the refresh token", async () => {
    saveSession(stale());
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}", { status: 503 })));
    expect(await accessToken()).toBe("a0"); // a server hiccup is no reason to log the user out
    expect(loadSession()).not.toBeNull();
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}", { status: 401 })));
    expect(await accessToken()).toBeNull();
    expect(loadSession()).toBeNull();
  });

  it("adopts tokens another tab already rotated", async () => {
    const mine = stale();
    saveSession(mine);
    saveSession({ ...mine, access: "a9", refresh: "r9", expiresAt: Date.now() + 600_000 }); // the other tab
    const fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
    expect(await accessToken()).toBe("a9");
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
