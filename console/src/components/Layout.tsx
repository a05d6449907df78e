import { NavLink, Outlet, useNavigate } from "react-router-dom";
import { useState } from "react";
import { useAuth } from "../auth";
import { BillingBanner } from "./BillingBanner";

const NAV = [
  ["/", "Library"], ["/search", "Search"], ["/ask", "Ask"], ["/people", "People"], ["/models", "Models"], ["/compliance", "Compliance"],
  ["/team", "Team"], ["/usage", "Usage"], ["/billing", "Billing"],
] as const;

export function Layout() {
  const { me, session, switchTenant, signOut } = useAuth();
  const navigate = useNavigate();
  const [switchError, setSwitchError] = useState<string | null>(null);
  const tenants = me?.tenants ?? [];
  const current = session?.tenant;

  async function onSwitch(slug: string) {
    setSwitchError(null);
    try {
      await switchTenant(slug);
      navigate("/");
    } catch (e) {
      setSwitchError(e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <span className="brand" aria-label="clipdex">▶ clipdex</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}><NavLink to={to} end={to === "/"}>{label}</NavLink></li>
            ))}
            {me?.is_operator && <li><NavLink to="/operator">Operator</NavLink></li>}
          </ul>
        </nav>
        <div className="who">
          {tenants.length > 1 ? (
            <label>
              <span className="sr-only">Tenant</span>
              <select aria-label="Tenant" value={current?.slug ?? ""} onChange={(e) => onSwitch(e.target.value)}>
                {tenants.map((t) => <option key={String(t.slug)} value={String(t.slug)}>{String(t.name)}</option>)}
              </select>
            </label>
          ) : (
            <span className="tenant-name" title="Tenant">{current?.name}</span>
          )}
          <span className="email">{me?.email}</span>
          <button type="button" className="secondary" onClick={() => { void signOut(); navigate("/signin"); }}>Sign out</button>
        </div>
      </header>
      {switchError && <p role="alert" className="state error">Could not switch tenant: {switchError}</p>}
      <main id="main" tabIndex={-1}>
        <BillingBanner />
        <Outlet />
      </main>
    </>
  );
}
