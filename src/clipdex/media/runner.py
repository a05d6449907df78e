"""Run FFmpeg tools on untrusted input in a constrained subprocess."""

from __future__ import annotations

import os
import resource
import subprocess
from dataclasses import dataclass
from pathlib import Path

from clipdex.errors import ToolTimeout
from clipdex.media.sandbox import Sandbox, restrict_self


@dataclass(frozen=True)
class Limits:
    timeout_s: float
    memory_bytes: int
    cpu_s: int | None = None
    max_output_bytes: int = 8 * 1024 * 1024


@dataclass(frozen=True)
class ToolResult:
    returncode: int
    stdout: bytes
    stderr: str


def _constrain(limits: Limits, ruleset_fd: int | None = None):
    def apply() -> None:
        os.setsid()  # own process group: a timeout kills the whole tree
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        if limits.cpu_s:
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        if ruleset_fd is not None:
            restrict_self(ruleset_fd)  # last: from here on the child reads only what the rules allow

    return apply


def tool_env() -> dict[str, str]:
    """The whole environment a media tool gets: no secrets, no proxies, no HOME."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}


def spawn(args: list[str], limits: Limits, sandbox: Sandbox | None = None, cwd: Path | None = None,
          bufsize: int = -1) -> subprocess.Popen:
    """Start ``args`` (no shell) with limits, a minimal environment and, given one, the sandbox."""
    ruleset = sandbox.ruleset(args[0]) if sandbox else None
    try:
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=tool_env(), cwd=str(cwd) if cwd else "/", bufsize=bufsize,
                                preexec_fn=_constrain(limits, ruleset))
    finally:
        if ruleset is not None:
            os.close(ruleset)  # the child has it (applied before exec); the parent needs it no more


def run_tool(args: list[str], limits: Limits, sandbox: Sandbox | None = None,
             cwd: Path | None = None) -> ToolResult:
    """Run ``args`` with limits, a minimal environment, a wall-clock timeout and the sandbox."""
    with spawn(args, limits, sandbox, cwd) as proc:
        try:
            out, err = proc.communicate(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.communicate()
            raise ToolTimeout(f"{os.path.basename(args[0])} ran past {limits.timeout_s:.0f}s") from None
    return ToolResult(proc.returncode, out[: limits.max_output_bytes],
                      err[-20000:].decode("utf-8", "replace"))
