"""``clipdex billing sync | report-usage | reconcile`` (registered on the main CLI)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Stripe billing: plans, metered usage, reconciliation (needs CLIPDEX_STRIPE_* set).",
                  no_args_is_help=True)
console = Console(soft_wrap=True)


def _platform():
    # Billing runs no pipeline stage: a bare Platform is enough, and clipdex.cli (which registers
    # this app) stays the only module above it.
    from clipdex.platform import Platform
    from clipdex.settings import Settings

    p = Platform.from_settings(Settings())
    if not p.settings.billing_enabled:
        console.print("[red]error:[/red] billing is off: set CLIPDEX_STRIPE_API_KEY and CLIPDEX_STRIPE_WEBHOOK_SECRET")
        raise typer.Exit(1)
    return p


@app.command()
def sync() -> None:
    """Create or update Stripe meters, products and prices for the configured plans (idempotent)."""
    from clipdex.billing.plans import load_plans
    from clipdex.billing.stripe_client import client_for
    from clipdex.billing.sync import sync_plans

    p = _platform()
    try:
        r = sync_plans(client_for(p.settings), load_plans(p.settings), p.settings.billing_currency)
    finally:
        p.close()
    for kind in ("created", "updated", "unchanged"):
        for what in getattr(r, kind):
            console.print(f"{kind:9} {what}")
    console.print(f"sync: {len(r.created)} created, {len(r.updated)} updated, {len(r.unchanged)} unchanged")


@app.command("report-usage")
def report_usage() -> None:
    """Report metered usage of every closed slice to Stripe, once (safe to rerun after a crash)."""
    from clipdex.billing.reporter import report_usage as run

    p = _platform()
    try:
        r = run(p)
    finally:
        p.close()
    console.print(f"report-usage: {r.planned} slices planned, {r.sent} sent ({r.units:g} units), "
                  f"{len(r.failed)} failed")
    if r.failed:
        raise typer.Exit(2)


@app.command()
def reconcile() -> None:
    """Re-read subscriptions from Stripe, suspend expired grace periods, compare reported usage."""
    from clipdex.billing.reconcile import reconcile as run

    p = _platform()
    try:
        r = run(p)
    finally:
        p.close()
    for tenant, changes in r.subscriptions.items():
        if changes:
            console.print(f"tenant {tenant}: {', '.join(changes)}")
    for tenant in r.suspended:
        console.print(f"tenant {tenant}: grace expired, suspended")
    table = Table("tenant", "metric", "sent", "pending", "reported", "stripe", "match")
    for line in r.usage:
        table.add_row(line.tenant_id, line.metric, str(line.slices_sent), str(line.slices_pending),
                      f"{line.reported_units:g}", "?" if line.stripe_units is None else f"{line.stripe_units:g}",
                      "yes" if line.matches else "NO")
    console.print(table)
