"""deploy/compose.yaml and deploy/Dockerfile stay in step with the code: settings, commands, roles.

No container runs here (no Docker daemon in CI); these checks catch the drift that would break the
stack at start: a misspelt CLIPDEX_ variable, a removed CLI option, a missing service.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import typer
import yaml

from clipdex.cli import app
from clipdex.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    return dict(env) if isinstance(env, dict) else dict(e.split("=", 1) for e in env)


def _interpolate(value: str) -> str:
    """Compose's ${VAR:-default} / ${VAR:?message}, with made-up values for the required ones."""
    def sub(m):
        name, op, arg = m.group(1), m.group(2), m.group(3)
        return arg if op == ":-" else f"{name.lower()}-" + "x" * 40

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", sub, str(value))


def test_the_scaled_stack_has_every_role(compose):
    services = compose["services"]
    assert {"api", "worker-cpu", "worker-gpu", "postgres", "redis", "s3", "s3-init", "migrate"} <= set(services)
    gpu = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"]
    for name in ("api", "worker-cpu", "worker-gpu"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_every_clipdex_variable_is_a_setting_and_validates(compose):
    fields = set(Settings.model_fields)
    for name, service in compose["services"].items():
        env = {k: _interpolate(v) for k, v in _env(service).items() if k.startswith("CLIPDEX_")}
        unknown = [k for k in env if k[len("CLIPDEX_"):].lower() not in fields]
        assert unknown == [], f"{name}: {unknown} are not settings"
        if env:
            s = Settings(**{k[len("CLIPDEX_"):].lower(): v for k, v in env.items()})
            assert s.env == "prod" and s.queue == "celery"
            assert s.storage_url.startswith("s3://") and s.index_uri.startswith("s3://")
            assert s.resolved_database_url.startswith("postgresql+psycopg://")


def _command(args: list[str]) -> None:
    """Resolve ``clipdex <cmd> --opt ...`` against the real CLI and parse its options."""
    assert args[0] == "clipdex"
    group = typer.main.get_command(app)
    cmd = group.commands[args[1]]
    with click.Context(cmd) as ctx:
        cmd.parse_args(ctx, list(args[2:]))


def test_commands_exist_with_these_options(compose):
    for service in compose["services"].values():
        if isinstance(service.get("command"), list) and service["command"][0] == "clipdex":
            _command(service["command"])
    queues = {s["command"][s["command"].index("--queues") + 1] for s in compose["services"].values()
              if "--queues" in (s.get("command") or [])}
    assert queues == {"cpu", "gpu,cpu"}


def test_dockerfile_pins_cpu_torch_before_the_project():
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.index('pip install "torch==2.13.0"') < text.index("pip install .")
    assert "https://download.pytorch.org/whl/cpu" in text and "ffmpeg" in text
    _command(["clipdex", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "0"])
