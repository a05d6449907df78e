import { Link, useLocation } from "react-router-dom";
import { api } from "../api/client";
import { useAuth } from "../auth";
import { date } from "../lib/format";
import { useLoad } from "../lib/useLoad";

/** A banner on every page while a payment is overdue (nothing when billing is off or all is well). */
export function BillingBanner() {
  const { session } = useAuth();
  const { pathname } = useLocation();
  const billing = useLoad(async () => {
    const r = await api.GET("/api/v1/billing");
    return r.response.ok ? r.data : undefined; // billing.not_configured and the like: no banner
  }, [session?.tenant?.id, pathname]);
  const b = billing.data;
  // the billing page says it in full itself
  if (!b || pathname === "/billing" || (b.state !== "grace" && b.state !== "suspended")) return null;
  return (
    <p role="alert" className="state error" data-testid="billing-global-banner">
      {b.state === "grace"
        ? <>Payment failed: update the payment method before {date(b.grace_until)} to keep uploading. </>
        : <>Uploads and processing are paused until the overdue invoice is paid; your videos stay readable. </>}
      <Link to="/billing">Billing</Link>
    </p>
  );
}
