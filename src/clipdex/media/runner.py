"""Run FFmpeg tools on untrusted input in a constrained subprocess."""

from __future__ import annotations

import os
import resource
import subprocess
from dataclasses import dataclass

from clipdex.errors import TransientError


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


class ToolTimeout(TransientError):
    """The tool ran past its time limit."""


def _constrain(limits: Limits):
    def apply() -> None:
        os.setsid()  # own process group: a timeout kills the whole tree
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        if limits.cpu_s:
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    return apply


def run_tool(args: list[str], limits: Limits) -> ToolResult:
    """Run ``args`` (no shell) with a minimal environment, limits and a wall-clock timeout."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, preexec_fn=_constrain(limits))
    try:
        out, err = proc.communicate(timeout=limits.timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        raise ToolTimeout(f"{os.path.basename(args[0])} ran past {limits.timeout_s:.0f}s") from None
    return ToolResult(proc.returncode, out[: limits.max_output_bytes],
                      err[-20000:].decode("utf-8", "replace"))
