import { useState } from "react";
import { useSearchParams } from "react-router-dom";
import { api, ApiError, unwrap, type Schemas } from "../api/client";
import { useAuth } from "../auth";
import { Empty, ErrorBox, Loading } from "../components/State";
import { date } from "../lib/format";
import { useLoad } from "../lib/useLoad";

type Billing = Schemas["BillingPublic"];
type Plan = Schemas["PlanPublic"];
type Invoice = Schemas["InvoicePublic"];

const METRIC_LABEL: Record<string, string> = {
  processing_minutes: "Processing minutes",
  training_minutes: "Training minutes",
};

export function money(cents: number, currency = "usd"): string {
  return new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(cents / 100);
}

/** Plan, subscription state, this period's usage against the plan, invoices; Checkout and portal for owners. */
export function BillingPage() {
  const { session } = useAuth();
  const [params] = useSearchParams();
  const billing = useLoad(() => api.GET("/api/v1/billing").then(unwrap), [session?.tenant?.id]);
  const manage = billing.data?.can_manage ?? false;
  const invoices = useLoad(
    () => (manage ? api.GET("/api/v1/billing/invoices").then(unwrap) : Promise.resolve({ items: [] as Invoice[] })),
    [session?.tenant?.id, manage],
  );
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<Error | null>(null);

  async function go(what: string, call: () => Promise<{ url: string }>) {
    setBusy(what);
    setActionError(null);
    try {
      window.location.assign((await call()).url);
    } catch (e) {
      setActionError(e instanceof Error ? e : new Error(String(e)));
      setBusy(null);
    }
  }
  const checkout = (plan: string) => go(plan, () => api.POST("/api/v1/billing/checkout", { body: { plan } }).then(unwrap));
  const portal = () => go("portal", () => api.POST("/api/v1/billing/portal").then(unwrap));

  if (billing.error) {
    if (billing.error instanceof ApiError && billing.error.code === "billing.not_configured") {
      return <><h1>Billing</h1><Empty title="Billing is off on this deployment">Your operator sets tiers by hand.</Empty></>;
    }
    return <><h1>Billing</h1><ErrorBox error={billing.error} retry={billing.reload} what="Could not load billing" /></>;
  }
  if (!billing.data) return <><h1>Billing</h1><Loading /></>;
  const b = billing.data;
  const subscribed = ["active", "grace", "suspended"].includes(b.state);
  return (
    <>
      <h1>Billing</h1>
      {params.get("checkout") === "success" && <p className="state ok" role="status">Thank you: your subscription is being set up.</p>}
      {params.get("checkout") === "cancel" && <p className="state" role="status">Checkout was cancelled; nothing was charged.</p>}
      <StateBanner billing={b} />
      <section className="card" aria-labelledby="plan-h">
        <h2 id="plan-h">Plan</h2>
        <p>
          Plan <strong data-testid="plan">{b.plan ?? b.tier}</strong> · tier <strong>{b.tier}</strong> · status{" "}
          <strong data-testid="billing-state">{b.state}</strong>
          {b.subscription_status && <> (Stripe: {b.subscription_status})</>}
        </p>
        <p className="hint">Current period {date(b.period_start)} – {date(b.period_end)}</p>
        {manage && b.has_customer && (
          <button type="button" onClick={portal} disabled={busy !== null}>
            {busy === "portal" ? "Opening…" : "Manage subscription and payment"}
          </button>
        )}
        {!manage && <p className="hint">Only the tenant's owners can change billing.</p>}
      </section>
      {actionError && <ErrorBox error={actionError} what="Could not open Stripe" />}
      <section aria-labelledby="usage-h">
        <h2 id="usage-h">Usage this period</h2>
        <div className="meters">
          {b.usage.map((u) => (
            <div className="meter" key={u.metric}>
              <span>{METRIC_LABEL[u.metric] ?? u.metric}: {u.used.toFixed(1)} of {u.included} included
                {u.included > 0 && u.used > u.included && <strong className="reject"> — overage is billed per unit</strong>}</span>
              <meter min={0} max={u.included || 1} value={u.used} high={u.included * 0.8} optimum={0}
                aria-label={METRIC_LABEL[u.metric] ?? u.metric} />
            </div>
          ))}
        </div>
      </section>
      {!subscribed && manage && <Plans plans={b.plans} busy={busy} onPick={checkout} />}
      {manage && (
        <section aria-labelledby="inv-h">
          <h2 id="inv-h">Invoices</h2>
          {invoices.error ? <ErrorBox error={invoices.error} retry={invoices.reload} what="Could not load invoices" />
            : !invoices.data ? <Loading />
              : invoices.data.items.length === 0 ? <Empty title="No invoices yet" />
                : <InvoiceTable items={invoices.data.items} />}
        </section>
      )}
    </>
  );
}

function StateBanner({ billing }: { billing: Billing }) {
  if (billing.state === "grace") {
    return (
      <p className="state error" role="alert" data-testid="billing-banner">
        Payment failed. Update your payment method before {date(billing.grace_until)} or uploads and processing will pause.
      </p>
    );
  }
  if (billing.state === "suspended") {
    return (
      <p className="state error" role="alert" data-testid="billing-banner">
        Uploads and processing are paused until the overdue invoice is paid. Your videos stay readable and searchable.
      </p>
    );
  }
  return null;
}

function Plans({ plans, busy, onPick }: { plans: Plan[]; busy: string | null; onPick: (key: string) => void }) {
  return (
    <section aria-labelledby="plans-h">
      <h2 id="plans-h">Choose a plan</h2>
      <div className="grid">
        {plans.filter((p) => p.purchasable).map((p) => (
          <div className="card" key={p.key}>
            <h3>{p.name}</h3>
            <p><strong>{money(p.monthly_price_cents)}</strong> per month</p>
            <ul>
              {Object.entries(p.included).map(([m, n]) => (
                <li key={m}>{n.toLocaleString()} {(METRIC_LABEL[m] ?? m).toLowerCase()} included
                  {p.overage_cents[m] && <>, then {money(Number(p.overage_cents[m]))} each</>}</li>
              ))}
            </ul>
            <button type="button" onClick={() => onPick(p.key)} disabled={busy !== null}>
              {busy === p.key ? "Opening Checkout…" : `Subscribe to ${p.name}`}
            </button>
          </div>
        ))}
      </div>
    </section>
  );
}

function InvoiceTable({ items }: { items: Invoice[] }) {
  return (
    <div className="table-wrap">
      <table>
        <thead><tr><th scope="col">Invoice</th><th scope="col">Date</th><th scope="col">Amount</th><th scope="col">Status</th><th scope="col">PDF</th></tr></thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.id}>
              <td>{i.hosted_invoice_url ? <a href={i.hosted_invoice_url}>{i.number ?? i.id}</a> : i.number ?? i.id}</td>
              <td>{i.created ? new Date(i.created * 1000).toLocaleDateString() : "–"}</td>
              <td>{money(i.status === "paid" ? i.amount_paid : i.amount_due, i.currency ?? "usd")}</td>
              <td>{i.status}</td>
              <td>{i.invoice_pdf ? <a href={i.invoice_pdf}>Download</a> : "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
