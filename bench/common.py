"""What the benchmarks share: a real ``clipdex serve`` in a throw-away data folder, stats, output."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform as pyplatform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench password 0123456789"
# Wide enough for the tables when stdout is a pipe or a CI log (rich would assume 80 columns).
console = Console(width=None if Console().is_terminal else 160)


@dataclass
class BenchServer:
    """A running ``clipdex serve`` subprocess with one tenant and its owner."""

    root: Path
    data_dir: Path
    port: int
    proc: subprocess.Popen
    env: dict[str, str]
    tenant_slug: str
    owner_email: str
    password: str = PASSWORD
    log_path: Path = field(default=Path("/dev/null"))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process (all its threads) so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def login(self) -> str:
        r = httpx.post(f"{self.base_url}/api/v1/auth/login", timeout=30,
                       json={"email": self.owner_email, "password": self.password, "tenant": self.tenant_slug})
        r.raise_for_status()
        return r.json()["access_token"]

    def create_api_key(self, token: str, scopes: list[str]) -> str:
        r = httpx.post(f"{self.base_url}/api/v1/api-keys", timeout=30, headers=bearer(token),
                       json={"name": "bench", "scopes": scopes})
        r.raise_for_status()
        return r.json()["secret"]

    def log_tail(self, n: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-n:]
        return ""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def clean_env(data_dir: Path, port: int) -> dict[str, str]:
    """The caller's environment without any CLIPDEX_ setting (never a real database), plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDEX_")}
    env.update(CLIPDEX_DATA_DIR=str(data_dir), CLIPDEX_ENV="dev", CLIPDEX_SECRET_KEY=secrets.token_urlsafe(48),
               CLIPDEX_LOG_LEVEL="WARNING", CLIPDEX_WORKER_THREADS="0",
               CLIPDEX_PUBLIC_URL=f"http://127.0.0.1:{port}")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict[str, str], cwd: Path, *args: str) -> None:
    res = subprocess.run([sys.executable, "-m", "clipdex.cli", *args], env=env, cwd=cwd, capture_output=True,
                         text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"clipdex {args[0]} failed: {res.stdout[-1000:]} {res.stderr[-1000:]}")


def _wait_healthy(server: BenchServer, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"clipdex serve exited with {server.proc.returncode}: {server.log_tail()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        time.sleep(0.1)
    raise RuntimeError(f"clipdex serve did not become healthy in {timeout_s:.0f}s: {server.log_tail()}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # uvicorn shuts down gracefully (lifespan flushes the meter)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def running_server(name: str, tier: str = "enterprise") -> Iterator[BenchServer]:
    """Migrate a fresh data folder, create a tenant and owner with the CLI, serve; always cleaned up."""
    root = Path(tempfile.mkdtemp(prefix=f"clipdex-bench-{name}-"))
    proc = None
    try:
        data_dir = root / "data"
        port = free_port()
        env = clean_env(data_dir, port)
        slug, email = f"bench-{name}", f"owner@{name}.bench.example.com"
        _cli(env, root, "migrate")
        _cli(env, root, "admin", "create-tenant", f"Bench {name}", "--tier", tier, "--owner", email,
             "--password", PASSWORD, "--slug", slug)
        log_path = root / "serve.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "clipdex.cli", "serve", "--host", "127.0.0.1",
                                     "--port", str(port), "--workers", "0"], env=env, cwd=root,
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        server = BenchServer(root, data_dir, port, proc, env, slug, email, log_path=log_path)
        _wait_healthy(server)
        yield server
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def percentile(sorted_values: list[float], p: float) -> float:
    """Linear-interpolated percentile ``p`` (0-100) of an already sorted list."""
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def meta() -> dict:
    commit = ""
    with contextlib.suppress(Exception):
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=5).stdout.strip()
    return {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
            "python": pyplatform.python_version(), "cpus": os.cpu_count(), "machine": pyplatform.machine(),
            "system": pyplatform.platform(),
            # Other work on the machine skews every number here: keep the load beside them.
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2)}


def write_json(name: str, data: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({"bench": name, "meta": meta(), **data}, indent=2, default=str) + "\n")
    return path


def print_table(title: str, columns: list[str], rows: list[list]) -> None:
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*(_fmt(v) for v in row))
    console.print(table)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)


def warn_if_busy() -> float:
    """Say so when other processes already keep the CPUs busy; returns the 1-minute load average."""
    load = os.getloadavg()[0]
    if load > 0.5 * (os.cpu_count() or 1):
        console.print(f"[yellow]warning:[/yellow] load average {load:.1f} on {os.cpu_count()} CPUs before "
                      "starting: other work will skew these numbers")
    return round(load, 2)
