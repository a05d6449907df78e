"""A closed-loop HTTP/1.1 load generator on raw asyncio streams.

Why not httpx or a load tool: the client shares the machine's two cores with the server, so it has
to be cheap. A keep-alive connection per client that writes a prepared request and reads the
response by Content-Length costs a few tens of microseconds per request, a small fraction of what
the server spends, and needs nothing beyond the standard library.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bench.common import percentile


@dataclass
class LoadResult:
    clients: int
    duration_s: float
    requests: int
    errors: int
    latencies_s: list[float] = field(repr=False, default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def summary(self) -> dict:
        lat = sorted(self.latencies_s)
        out = {"clients": self.clients, "duration_s": round(self.duration_s, 3), "requests": self.requests,
               "errors": self.errors, "rps": round(self.rps, 1),
               "p50_ms": round(percentile(lat, 50) * 1000, 2), "p95_ms": round(percentile(lat, 95) * 1000, 2),
               "p99_ms": round(percentile(lat, 99) * 1000, 2), "max_ms": round((lat[-1] if lat else 0) * 1000, 2),
               "client_cpu_s": round(self.client_cpu_s, 2), "error_samples": self.error_samples[:5]}
        if self.server_cpu_s is not None:
            out["server_cpu_s"] = round(self.server_cpu_s, 2)
            out["server_cpu_ms_per_req"] = round(1000 * self.server_cpu_s / max(1, self.requests), 3)
            out["server_cpu_cores"] = round(self.server_cpu_s / self.duration_s, 2) if self.duration_s else 0.0
        return out


def build_request(port: int, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    low = head.lower()
    i = low.find(b"\r\ncontent-length:")
    if i >= 0:
        n = int(low[i + 17: low.index(b"\r\n", i + 2)])
        return status, await reader.readexactly(n)
    if b"\r\ntransfer-encoding: chunked" in low:
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, bytes(body)
            body += chunk[:-2]
    raise ValueError("response without a length")


class _Run:
    def __init__(self, port: int, request: bytes, measure_from: float, stop_at: float) -> None:
        self.port, self.request = port, request
        self.measure_from, self.stop_at = measure_from, stop_at
        self.latencies: list[float] = []
        self.errors = 0
        self.error_samples: list[str] = []
        self.last_done = measure_from

    def _error(self, what: str, counted: bool) -> None:
        if counted:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(what)

    async def client(self) -> None:
        reader = writer = None
        while (t0 := time.perf_counter()) < self.stop_at:
            counted = t0 >= self.measure_from
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(self.request)
                status, body = await _read_response(reader)
                t1 = time.perf_counter()
                if status != 200:
                    self._error(f"HTTP {status}: {body[:200]!r}", counted)
                elif counted:
                    self.latencies.append(t1 - t0)
                    self.last_done = max(self.last_done, t1)
            except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.LimitOverrunError) as e:
                self._error(f"{type(e).__name__}: {e}", counted)
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.01)
        if writer is not None:
            writer.close()


async def _run(port: int, request: bytes, clients: int, warmup_s: float, duration_s: float, cpu_probe) -> LoadResult:
    start = time.perf_counter()
    run = _Run(port, request, start + warmup_s, start + warmup_s + duration_s)
    tasks = [asyncio.create_task(run.client()) for _ in range(clients)]
    await asyncio.sleep(max(0.0, run.measure_from - time.perf_counter()))
    cpu0, ccpu0 = (cpu_probe() if cpu_probe else None), time.process_time()
    await asyncio.gather(*tasks)
    cpu1, ccpu1 = (cpu_probe() if cpu_probe else None), time.process_time()
    window = max(run.last_done, run.stop_at) - run.measure_from
    return LoadResult(clients, window, len(run.latencies), run.errors, run.latencies, run.error_samples,
                      server_cpu_s=(cpu1 - cpu0) if cpu_probe else None, client_cpu_s=ccpu1 - ccpu0)


def run_load(port: int, path: str, headers: dict[str, str] | None = None, *, clients: int = 16,
             warmup_s: float = 2.0, duration_s: float = 10.0, cpu_probe=None) -> LoadResult:
    """``clients`` keep-alive connections, each sending the next GET as soon as the last one answered.

    Only requests started after the warm-up count; ``cpu_probe`` (a callable returning the server's
    CPU seconds) is read at the start and the end of the measured window.
    """
    return asyncio.run(_run(port, build_request(port, path, headers), clients, warmup_s, duration_s, cpu_probe))
