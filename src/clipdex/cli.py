"""The ``clipdex`` command line."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from clipdex.settings import Settings

app = typer.Typer(help="clipdex: self-hostable, multi-tenant video intelligence.", no_args_is_help=True,
                  add_completion=False)
admin = typer.Typer(help="Tenants, users and tiers (run on the server).", no_args_is_help=True)
app.add_typer(admin, name="admin")
eval_app = typer.Typer(help="Evaluate analyzers against a labelled corpus.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
docs_app = typer.Typer(help="Regenerate the generated pages in docs/ (tests fail when one is stale).",
                       no_args_is_help=True)
app.add_typer(docs_app, name="docs")
from clipdex.billing.cli import app as billing_app  # noqa: E402  (issue 15)
app.add_typer(billing_app, name="billing")
console = Console(soft_wrap=True)


def _platform():
    from clipdex.pipeline import registry
    from clipdex.platform import Platform

    settings = Settings()
    registry.discover(settings.extra_stages)
    return Platform.from_settings(settings)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="target revision")] = "head",
            down: Annotated[bool, typer.Option("--down", help="downgrade to REVISION (e.g. base)")] = False) -> None:
    """Apply database migrations (SQLite by default, PostgreSQL by CLIPDEX_DATABASE_URL)."""
    from clipdex.db import migrate as m

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    (m.downgrade if down else m.upgrade)(url, revision, app_role=settings.database_app_role)
    console.print(f"database at revision [bold]{m.current(url)}[/bold]")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[Optional[int], typer.Option(help="embedded worker threads (0: none)")] = None) -> None:
    """Serve the API (and console) with the embedded worker."""
    import uvicorn

    from clipdex.app import create_app

    settings = Settings()
    console.print(f"clipdex serving on http://{host}:{port} (docs at /docs)")
    # Idle keep-alive connections stay open 75 s, not uvicorn's 5 s: a client or load balancer that reuses
    # a connection idle for about 5 s (httpx's own expiry, or an ALB/nginx 60 s pool) otherwise races the
    # server's close and gets a reset instead of an answer (bench/load.py measured it; SECURITY.md).
    uvicorn.run(create_app(settings, embedded_workers=workers), host=host, port=port, log_level="warning",
                access_log=False, timeout_keep_alive=75)


@app.command()
def worker(concurrency: Annotated[int, typer.Option(help="stages run at once in this process")] = 1,
           queues: Annotated[str, typer.Option(help="comma-separated queues: cpu, gpu, train")] = "cpu") -> None:
    """Run a worker process against the same database (add as many as the machine allows).

    With CLIPDEX_QUEUE=celery it consumes the Celery queues on CLIPDEX_BROKER_URL and relays the job
    outbox to them; otherwise worker threads poll the database (the embedded transport).
    """
    from clipdex.jobs.queue import transport_for
    from clipdex.observability import configure_logging

    from clipdex import native

    settings = Settings()
    configure_logging(settings.log_level)
    native.preload()  # before any worker thread starts
    names = tuple(q.strip() for q in queues.split(",") if q.strip())
    transport = transport_for(settings.queue)
    console.print(f"worker pid {os.getpid()} ({transport.name}) on queues {','.join(names)}, concurrency {concurrency}")
    raise typer.Exit(transport.serve(_platform(), names, concurrency))


@app.command()
def openapi() -> None:
    """Print the OpenAPI document."""
    import tempfile

    from clipdex.app import create_app

    with tempfile.TemporaryDirectory(prefix="clipdex-openapi-") as tmp:  # no database is touched
        settings = Settings(data_dir=Path(tmp), worker_threads=0, secret_key="openapi-" * 5)
        spec = create_app(settings, embedded_workers=0).openapi()
    typer.echo(json.dumps(spec, indent=2))


@admin.command("create-tenant")
def create_tenant(name: str, tier: Annotated[str, typer.Option(help="free | pro | enterprise")] = "free",
                  owner: Annotated[str, typer.Option(help="owner e-mail")] = ...,
                  password: Annotated[Optional[str], typer.Option(help="owner password (generated if absent)")] = None,
                  slug: Optional[str] = None) -> None:
    """Create a tenant and its owner account."""
    from sqlalchemy import select

    from clipdex.errors import ClipdexError
    from clipdex.models import User
    from clipdex.tenancy import service as tenants
    from clipdex.tenancy.system import SystemReason, system_session

    platform = _platform()
    generated = None
    try:
        with system_session(platform, SystemReason.OPERATOR) as s:
            exists = s.scalar(select(User.id).where(User.email == owner.strip().lower()))
        if exists is None and not password:
            password = generated = secrets.token_urlsafe(12)
        tenant = tenants.create_tenant_with_owner(platform, name, tier, slug=slug, actor="cli",
                                                  owner_email=owner, owner_password=password)
    except ClipdexError as e:
        _fail(e.detail)
    console.print(f"tenant [bold]{tenant.slug}[/bold] ({tenant.id}) on tier {tier}; owner {owner}")
    if exists is not None and password:
        console.print(f"{owner} already had an account: its password is unchanged (clipdex admin set-password)")
    if generated:
        console.print(f"owner password (shown once): [bold]{generated}[/bold]")


@admin.command("create-user")
def create_user(email: str, tenant: Annotated[Optional[str], typer.Option(help="tenant slug or id")] = None,
                role: str = "member",
                password: Annotated[Optional[str], typer.Option(
                    help="password of a new user (generated if absent); for an existing user, sets it")] = None,
                operator: Annotated[bool, typer.Option(help="platform operator")] = False) -> None:
    """Create a user (optionally a member of TENANT, or a platform operator); an existing user is updated."""
    from clipdex.auth import reset
    from clipdex.errors import ClipdexError
    from clipdex.tenancy import service as tenants
    from clipdex.tenancy.system import SystemReason, system_session

    platform = _platform()
    generated = None if password else secrets.token_urlsafe(12)
    changes = []
    try:
        with system_session(platform, SystemReason.OPERATOR) as s:
            user, created = tenants.get_or_create_user(s, email, password or generated, operator=operator)
            if not created and password:
                reset.set_password(s, user, password, actor="cli")
                changes.append("password set (signed-in sessions ended)")
            if operator and not user.is_operator:
                user.is_operator = True
                changes.append("now a platform operator")
            if tenant:
                tenants.add_member(s, tenants.find_tenant(s, tenant).id, user.id, role)
                changes.append(f"{role} of {tenant}")
    except ClipdexError as e:
        _fail(e.detail)
    if created:
        console.print(f"user {email} created" + (f" ({role} of {tenant})" if tenant else ""))
        if generated:
            console.print(f"password (shown once): [bold]{generated}[/bold]")
    else:
        console.print(f"user {email} exists; " + ("; ".join(changes) if changes else "nothing changed")
                      + ("" if password else " (password unchanged: use clipdex admin set-password)"))


@admin.command("set-password")
def set_password(email: str, password: Annotated[Optional[str], typer.Option(
        help="the new password (prompted for, hidden, when absent)")] = None) -> None:
    """Set a user's password (ends the user's signed-in sessions)."""
    from clipdex.auth import reset
    from clipdex.errors import ClipdexError
    from clipdex.tenancy.system import SystemReason, system_session

    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        with system_session(_platform(), SystemReason.OPERATOR) as s:
            reset.set_password(s, reset.find_user(s, email), password, actor="cli")
    except ClipdexError as e:
        _fail(e.detail)
    console.print(f"password of {email.strip().lower()} set; the user's sessions were signed out")


@admin.command("reset-link")
def reset_link(email: str) -> None:
    """Print a one-time password reset link for EMAIL to hand over (works without a mail server)."""
    from clipdex.auth import reset
    from clipdex.errors import ClipdexError

    platform = _platform()
    try:
        link = reset.operator_link(platform, email)
    except ClipdexError as e:
        _fail(e.detail)
    minutes = platform.settings.password_reset_ttl_s // 60
    console.print(f"reset link for {email.strip().lower()} (works once, for {minutes} minutes):")
    typer.echo(link)


@admin.command("set-tier")
def set_tier(tenant: str, tier: str) -> None:
    """Move a tenant to another tier."""
    from clipdex.errors import ClipdexError
    from clipdex.tenancy import service as tenants

    try:
        t = tenants.set_tier(_platform(), tenant, tier, actor="cli")
    except ClipdexError as e:
        _fail(e.detail)
    console.print(f"tenant {t.slug} is now on tier {t.tier}")


@admin.command("list-tenants")
def list_tenants() -> None:
    """Show every tenant."""
    from sqlalchemy import select

    from clipdex.models import Tenant
    from clipdex.tenancy.system import SystemReason, system_session

    table = Table("slug", "name", "tier", "status", "id")
    with system_session(_platform(), SystemReason.OPERATOR, readonly=True) as s:
        for t in s.scalars(select(Tenant).order_by(Tenant.created_at)):
            table.add_row(t.slug, t.name, t.tier, t.status, str(t.id))
    console.print(table)


@app.command()
def process(file: Path, tenant: Annotated[str, typer.Option(help="tenant slug or id")] = "demo",
            title: Optional[str] = None) -> None:
    """Upload FILE for TENANT and process it here with a progress display."""
    from clipdex.demo import process_file

    try:
        video_id, status = process_file(_platform(), file, tenant, title=title, progress=_progress())
    except Exception as e:  # noqa: BLE001
        _fail(getattr(e, "detail", str(e)))
    console.print(f"video {video_id}: [bold]{status}[/bold]")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(), console=console)


@app.command()
def demo() -> None:
    """Set up the embedded demo: migrate, a demo tenant and owner, a processed sample video."""
    from clipdex.demo import run_demo

    run_demo(Settings(), console, _progress)


@app.command()
def reindex(tenant: Annotated[Optional[str], typer.Option(help="tenant slug or id (default: every tenant)")] = None,
            drop_old: Annotated[bool, typer.Option(help="drop tables of other embedding models afterwards")] = False
            ) -> None:
    """Rebuild the search index from stored artifacts (after an embedding-model change, or to repair it)."""
    from clipdex.search.indexer import reindex as run_reindex

    platform = _platform()
    ids = None
    if tenant:
        from clipdex.tenancy.service import get_tenant

        ids = [get_tenant(platform, tenant).id]
    with _progress() as bar:
        task = bar.add_task("indexing videos", total=None)
        report = run_reindex(platform, ids, drop_old=drop_old, progress=lambda n: bar.update(task, completed=n))
    console.print(f"{report['videos']} videos, {report['rows']} rows in {report['table']} "
                  f"across {report['tenants']} tenants; {report['dropped']} old tables dropped")


@eval_app.command("search")
def eval_search(corpus: Annotated[Optional[Path],
                                  typer.Option(help="folder with MANIFEST.json (omit: generated media only)")] = None,
                as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
                limit: Annotated[Optional[int], typer.Option(help="only the first N corpus speech files")] = None,
                ask: Annotated[bool, typer.Option(help="also score ask's citations")] = True) -> None:
    """Search recall@1/@5 and MRR on labelled queries; citation precision and not-found rate of ask."""
    from clipdex.evaluation.search import evaluate, render

    if corpus is not None and not (corpus / "MANIFEST.json").is_file():
        _fail(f"{corpus}/MANIFEST.json not found")
    result = evaluate(corpus, limit=limit, with_ask=ask, settings=Settings())
    if as_json:
        typer.echo(json.dumps(result, indent=1, ensure_ascii=False, default=str))
    else:
        render(result, console)


@eval_app.command("asr")
def eval_asr(corpus: Annotated[Path, typer.Option(help="folder with MANIFEST.json")],
             as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
             model: Annotated[Optional[str], typer.Option(help="tiny.en | base | a model dir")] = None,
             declare_language: Annotated[bool, typer.Option(help="pass each file's language to the model")] = False,
             limit: Annotated[Optional[int], typer.Option(help="only the first N speech files")] = None) -> None:
    """Transcription WER/CER per file and language, speaker-count accuracy and real-time factor."""
    from clipdex.evaluation.speech import evaluate, render
    from clipdex.speech.asr_models import AsrOptions

    if not (corpus / "MANIFEST.json").is_file():
        _fail(f"{corpus}/MANIFEST.json not found")
    settings = Settings()
    # Without --model, files are routed as uploads are (non-English speech to the multilingual model).
    result = evaluate(corpus, AsrOptions.from_settings(settings, model), settings.resolved_model_cache_dir,
                      declare_language=declare_language, chunk_s=settings.asr_chunk_s, limit=limit,
                      routing_settings=settings if model is None and settings.asr_language_routing else None)
    if as_json:
        typer.echo(json.dumps(result, indent=1, ensure_ascii=False))
    else:
        render(result, console)


@eval_app.command("shots")
def eval_shots(corpus: Annotated[Path, typer.Option(help="folder with MANIFEST.json")],
               as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False) -> None:
    """Shot boundaries: precision/recall/F1 at +-1 frame, hard cuts and gradual transitions apart."""
    _eval_visual("shots", corpus, as_json)


@eval_app.command("faces")
def eval_faces(corpus: Annotated[Path, typer.Option(help="folder with MANIFEST.json")],
               as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False) -> None:
    """Face detection: precision/recall at IoU >= 0.5 (and 0.3), count accuracy, faces per video frame."""
    _eval_visual("faces", corpus, as_json)


@eval_app.command("ocr")
def eval_ocr(corpus: Annotated[Path, typer.Option(help="folder with MANIFEST.json")],
             as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False) -> None:
    """On-screen text: character and word error rates, exact single lines."""
    _eval_visual("ocr", corpus, as_json)


def _eval_visual(kind: str, corpus: Path, as_json: bool) -> None:
    from clipdex.evaluation.visual import EVALS, render

    if not (corpus / "MANIFEST.json").is_file():
        _fail(f"{corpus}/MANIFEST.json not found")
    result = EVALS[kind](corpus, Settings())
    if as_json:
        typer.echo(json.dumps(result, indent=1, ensure_ascii=False))
    else:
        render(kind, result, console)


@app.command()
def doctor(as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False) -> None:
    """Check database, storage, broker, index, FFmpeg and models; exit 1 when something FAILs."""
    from clipdex.ops.doctor import FAIL, WARN, healthy, run_checks

    findings = run_checks(Settings())
    if as_json:
        typer.echo(json.dumps({"ok": healthy(findings), "checks": [f.as_dict() for f in findings]}, indent=1))
    else:
        table = Table("check", "status", "detail")
        colour = {FAIL: "red", WARN: "yellow"}
        for f in findings:
            mark = f"[{colour[f.status]}]{f.status}[/]" if f.status in colour else f"[green]{f.status}[/]"
            table.add_row(f.name, mark, f.detail + (f"\n[dim]fix:[/dim] {f.hint}" if f.hint else ""))
        console.print(table)
    if not healthy(findings):
        raise typer.Exit(1)


@docs_app.command("config")
def docs_config(output: Annotated[str, typer.Option(help="file to write, - for stdout")] = "docs/configuration.md",
                check: Annotated[bool, typer.Option("--check", help="write nothing; fail if OUTPUT is stale")] = False,
                ) -> None:
    """Every setting with its group, environment variable, type, default and description (from settings.py)."""
    from clipdex import settings_docs

    _generated_page(settings_docs.render(), output, check)


def _generated_page(text: str, output: str, check: bool) -> None:
    """Print, check or write a generated docs page (shared by the `clipdex docs` commands)."""
    path = Path(output)
    if output == "-":
        typer.echo(text, nl=False)
    elif check and not (path.is_file() and path.read_text() == text):
        _fail(f"{output} is stale: run `clipdex docs` again without --check")
    elif not check and not (path.is_file() and path.read_text() == text):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)  # a page of the repository, not service data (main() sets umask 077)
        console.print(f"{output} written")
    else:
        console.print(f"{output} is up to date")


def main() -> None:
    # Everything clipdex writes (database, blobs, index, scratch copies of media) is private to the
    # service user: files 0600, folders 0700.
    os.umask(0o077)
    try:
        app()
    except subprocess.CalledProcessError as e:
        _fail(f"{e.cmd[0]} failed")


if __name__ == "__main__":
    main()
