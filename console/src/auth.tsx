// Who is signed in, in which tenant; sign-in, tenant switch and sign-out.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, unwrap, type Schemas } from "./api/client";
import { fromTokens, loadSession, onSessionChange, restoreSession, saveSession, type Session } from "./api/session";

export type Me = Schemas["MeResponse"];

interface AuthState {
  session: Session | null;
  ready: boolean; // false until the refresh cookie was tried (on page load)
  me: Me | null;
  signIn: (email: string, password: string) => Promise<void>;
  switchTenant: (tenant: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const Ctx = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [ready, setReady] = useState<boolean>(() => loadSession() !== null);
  const [me, setMe] = useState<Me | null>(null);

  useEffect(() => onSessionChange(setSession), []);
  useEffect(() => {
    if (ready) return;
    let live = true;
    void restoreSession().finally(() => { if (live) setReady(true); });
    return () => { live = false; };
  }, [ready]);
  const tenantId = session?.tenant?.id ?? null;
  const signedIn = session !== null;
  useEffect(() => {
    if (!signedIn) { setMe(null); return; }
    let live = true;
    api.GET("/api/v1/auth/me").then((r) => { if (live && r.data) setMe(r.data); });
    return () => { live = false; };
  }, [signedIn, tenantId]);

  const signIn = useCallback(async (email: string, password: string) => {
    const r = await api.POST("/api/v1/auth/login", { body: { email, password } });
    saveSession(fromTokens(unwrap(r)));
  }, []);

  const switchTenant = useCallback(async (tenant: string) => {
    // the server ends the previous tenant's session and sets the new refresh cookie
    const r = await api.POST("/api/v1/auth/switch", { body: { tenant } });
    saveSession(fromTokens(unwrap(r)));
  }, []);

  const signOut = useCallback(async () => {
    saveSession(null);
    await api.POST("/api/v1/auth/logout", {}).catch(() => undefined); // revokes and clears the cookie
  }, []);

  const value = useMemo(() => ({ session, ready, me, signIn, switchTenant, signOut }),
                        [session, ready, me, signIn, switchTenant, signOut]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useAuth(): AuthState {
  const v = useContext(Ctx);
  if (!v) throw new Error("useAuth outside AuthProvider");
  return v;
}

/** Roles that may change things (the server decides; this only hides buttons that would fail). */
export function canWrite(role: string | null | undefined): boolean {
  return role === "owner" || role === "admin" || role === "member";
}
export function canManage(role: string | null | undefined): boolean {
  return role === "owner" || role === "admin";
}
