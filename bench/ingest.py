"""Ingest throughput: one whole job through the real pipeline next to its two floors, in one run.

    .venv/bin/python -m bench.ingest [--seconds 90] [--file talk.mp4] [--device cpu|cuda] [--no-cold]

The video is generated (bench/talk_video.py: 1280x720 H.264 + AAC talk, slides changing every
15-30 s, a drifting speaker inset, a hard cut and a dissolve to a photo, espeak-ng speech in two
voices, music, silence) unless ``--file`` names one. Reported side by side, same file, same process:

* ``floor_asr``: raw faster-whisper on the extracted 16 kHz audio, same model and settings as the
  ``transcribe`` stage (model loaded beforehand: warm);
* ``floor_decode``: one bare FFmpeg decode at analysis width (``ffmpeg -i ... -vf scale=640:-2 -f null -``);
* the whole job, accepted upload to ``ready``, run by an embedded worker pool of
  ``CLIPDEX_WORKER_THREADS`` threads (default 2) in this process: cold (first job of the process:
  models load) and warm (a second tenant, same file); each stage's wall time and start/end (so the
  overlap of the audio and visual branches shows), CPU seconds (this process and its FFmpeg
  children), peak RSS;
* the ratios the targets are written in: job / max(floors), job / video duration;
* on-screen text read vs. drawn (generated video only): slide lines found, extra spans.

Absolute seconds depend on the machine and on what else runs on it; the load average is printed
beside them and the ratios come from one run. ``--device cuda`` sets CLIPDEX_ASR_DEVICE=cuda (and
float16) and CLIPDEX_DEVICE=cuda (ONNX Runtime's CUDA provider for on-screen text, sound events and
embeddings), decodes the floor with ``-hwaccel cuda`` and prints the same table.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import print_table, warn_if_busy, write_json

RSS_UNIT = 1024  # ru_maxrss is in KiB on Linux


def _cpu_s() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_rss_mib() -> dict:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"worker": round(me.ru_maxrss * RSS_UNIT / 2**20, 1),
            "largest_child": round(kids.ru_maxrss * RSS_UNIT / 2**20, 1)}


def make_input(root: Path, seconds: int) -> tuple[Path, dict | None]:
    from bench.asr import make_audio
    from bench.talk_video import make_talk

    wav = make_audio(root / "speech.wav", seconds / 60)
    video = root / "talk.mp4"
    return video, make_talk(video, seconds, wav)


def floor_decode(path: Path, width: int, device: str) -> float:
    hw = ["-hwaccel", "cuda"] if device == "cuda" else []
    t0 = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", *hw, "-i", str(path), "-an", "-vf", f"scale={width}:-2",
                    "-f", "null", "-"], check=True)
    return time.perf_counter() - t0


def floor_asr(path: Path, settings, root: Path) -> dict:
    """Raw faster-whisper with the stage's model, decoder and VAD settings on the extracted audio."""
    from clipdex.analyzers.transcription import DECODE, VAD_PARAMETERS
    from clipdex.speech.asr_models import AsrOptions, load_whisper
    from clipdex.speech.audio import SR, read_wav

    wav = root / "floor.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-nostdin", "-i", str(path), "-vn", "-ac", "1", "-ar", "16000",
                    "-c:a", "pcm_s16le", str(wav)], check=True)
    audio = read_wav(wav)
    opts = AsrOptions.from_settings(settings)
    whisper = load_whisper(opts, settings.resolved_model_cache_dir)
    t0 = time.perf_counter()
    segs, _ = whisper.transcribe(audio, language="en", beam_size=opts.beam_size, vad_filter=opts.vad,
                                 vad_parameters=VAD_PARAMETERS, **DECODE)
    n = len(list(segs))
    return {"seconds": time.perf_counter() - t0, "segments": n, "audio_s": len(audio) / SR, "model": opts.model,
            "device": opts.device}


def _settings(root: Path, device: str, disabled: tuple[str, ...] = ()):
    from clipdex.settings import Settings

    over = {"asr_device": "cuda", "asr_compute_type": "float16", "device": "cuda"} if device == "cuda" else {}
    return Settings(data_dir=root / "data", env="test", secret_key="b" * 40, disabled_stages=list(disabled), **over)


class Pipeline:
    """A migrated data folder, an embedded worker pool in this process, tenants to upload as."""

    def __init__(self, root: Path, device: str, disabled: tuple[str, ...] = ()) -> None:
        from clipdex.db import migrate
        from clipdex.jobs.worker import WorkerPool
        from clipdex.pipeline import registry
        from clipdex.platform import Platform

        self.settings = _settings(root, device, disabled)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate.upgrade(self.settings.resolved_database_url, app_role=self.settings.database_app_role)
        registry.discover()
        self.platform = Platform.from_settings(self.settings)
        self.pool = WorkerPool(self.platform, self.settings.worker_threads).start()

    def run_job(self, video: Path, timeout_s: float = 3600) -> dict:
        from sqlalchemy import select

        from clipdex.demo import _owner_principal
        from clipdex.ingest.service import IngestMeta, accept, stage_copy
        from clipdex.models import Job, JobStage, Video
        from clipdex.tenancy import service as tenants

        slug = f"bench-{uuid.uuid4().hex[:6]}"
        tenants.create_tenant_with_owner(self.platform, "Bench", "enterprise", slug=slug, actor="bench",
                                         owner_email=f"owner@{slug}.example.com", owner_password="bench password 0123")
        principal = _owner_principal(self.platform, slug)
        staged = stage_copy(self.settings, video)
        cpu0, t0 = _cpu_s(), time.perf_counter()
        v = accept(self.platform, principal, staged, IngestMeta(title=video.stem, filename=video.name))
        status = "queued"
        while time.perf_counter() - t0 < timeout_s:
            with self.platform.db.tenant(principal.tenant_id) as s:
                status = s.get(Video, v.id).status
            if status in ("ready", "failed"):
                break
            time.sleep(0.2)
        wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
        with self.platform.db.tenant(principal.tenant_id) as s:
            job = s.scalar(select(Job).where(Job.video_id == v.id))
            rows = s.scalars(select(JobStage).where(JobStage.job_id == job.id).order_by(JobStage.position)).all()
            origin = min((r.started_at for r in rows if r.started_at), default=None)
            stages = {r.name: {"status": r.status, "seconds": round(r.duration_s or 0.0, 2),
                               "start": round((r.started_at - origin).total_seconds(), 2) if r.started_at else None,
                               "end": round((r.finished_at - origin).total_seconds(), 2) if r.finished_at else None,
                               "output": r.output or {}} for r in rows}
        return {"status": status, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "stages": stages,
                "video_id": str(v.id), "tenant_id": str(principal.tenant_id)}

    def text_spans(self, job: dict) -> list[dict]:
        from sqlalchemy import select

        from clipdex.models import Artifact

        with self.platform.db.tenant(uuid.UUID(job["tenant_id"])) as s:
            art = s.scalar(select(Artifact).where(Artifact.video_id == uuid.UUID(job["video_id"]),
                                                  Artifact.name == "text.json"))
            key = art.blob_key if art else None
        if key is None:
            return []
        with self.platform.blobs.open(key) as fh:
            return json.loads(fh.read()).get("spans", [])

    def close(self) -> None:
        self.pool.shutdown()
        self.platform.close()


def score_text(spans: list[dict], truth: dict) -> dict:
    """Slide lines drawn vs. read (normalised), and spans that match no drawn line."""
    from clipdex.analyzers.ocr import _norm

    want = {_norm(x) for s in truth["slides"] for x in s["lines"]}
    got = [_norm(s["text"]) for s in spans]
    return {"lines_drawn": len(want), "lines_read": len(want & set(got)),
            "other_spans": sorted({g for g in got if g not in want})[:20], "spans": len(spans)}


def overlap_s(stages: dict, a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """Seconds during which a stage of group ``a`` and one of group ``b`` both ran."""
    def span(names):
        xs = [(stages[n]["start"], stages[n]["end"]) for n in names if n in stages and stages[n]["start"] is not None
              and stages[n]["end"] is not None]
        return (min(x for x, _ in xs), max(y for _, y in xs)) if xs else None
    sa, sb = span(a), span(b)
    return round(max(0.0, min(sa[1], sb[1]) - max(sa[0], sb[0])), 2) if sa and sb else 0.0


AUDIO_BRANCH = ("extract_audio", "transcribe", "diarize", "sound_events")
VISUAL_BRANCH = ("visual", "scenes")


def run(seconds: int, file: Path | None, device: str, cold: bool, root: Path, disabled: tuple[str, ...] = ()) -> dict:
    load = warn_if_busy()
    truth = None
    if file is None:
        file, truth = make_input(root, seconds)
    elif file.with_suffix(".truth.json").is_file():  # a video this bench generated before (--keep)
        truth = json.loads(file.with_suffix(".truth.json").read_text())
    pipe = Pipeline(root, device, disabled)
    try:
        jobs = {}
        if cold:
            jobs["cold"] = pipe.run_job(file)
            from clipdex.jobs import warmup

            jobs["cold"]["warmup_s"] = dict(warmup.last)  # the worker's background model loads
            print("cold job:", json.dumps({k: v for k, v in jobs["cold"].items() if k != "stages"}), flush=True)
        asr = floor_asr(file, pipe.settings, root)
        decode = floor_decode(file, pipe.settings.visual_width, device)
        jobs["warm"] = pipe.run_job(file)
        text = score_text(pipe.text_spans(jobs["warm"]), truth) if truth else None
    finally:
        pipe.close()
    duration = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                     str(file)], capture_output=True, text=True, check=True).stdout.strip())
    floor = max(asr["seconds"], decode)
    from clipdex.analyzers import runtime

    out = {"file": str(file), "generated": truth is not None, "video_s": round(duration, 1), "device": device,
           "disabled_stages": list(disabled), "cores": runtime.cores(), "compute_threads": runtime.compute_threads(),
           "worker_threads": pipe.settings.worker_threads, "loadavg_1m_at_start": load,
           "floor_asr_s": round(asr["seconds"], 2), "floor_decode_s": round(decode, 2), "asr_model": asr["model"],
           "jobs": jobs, "peak_rss_mib": _peak_rss_mib(), "text_vs_drawn": text,
           "ratios": {name: {"job_over_slower_floor": round(j["wall_s"] / floor, 2),
                             "job_over_duration": round(j["wall_s"] / duration, 3),
                             "cpu_s_over_duration": round(j["cpu_s"] / duration, 3),
                             # a full queue keeps every core busy: video hours a worker of these cores
                             # gets through per hour is cores / (CPU seconds per video second)
                             "video_h_per_h_full_queue": round(runtime.cores() * duration / max(j["cpu_s"], 1e-9),
                                                               2),
                             "audio_visual_overlap_s": overlap_s(j["stages"], AUDIO_BRANCH, VISUAL_BRANCH)}
                      for name, j in jobs.items()}}
    return out


def report(r: dict) -> None:
    names = list(r["jobs"])
    stages = list(next(iter(r["jobs"].values()))["stages"])
    rows = [[n, *(f"{r['jobs'][j]['stages'].get(n, {}).get('seconds', 0.0):.2f} "
                  f"[{r['jobs'][j]['stages'].get(n, {}).get('start')}-{r['jobs'][j]['stages'].get(n, {}).get('end')}]"
                  for j in names)] for n in stages]
    rows += [["(whole job, wall)", *(r["jobs"][j]["wall_s"] for j in names)],
             ["(CPU seconds, process + FFmpeg)", *(r["jobs"][j]["cpu_s"] for j in names)],
             ["floor_asr (raw faster-whisper)", *([r["floor_asr_s"]] * len(names))],
             ["floor_decode (ffmpeg scale=640:-2)", *([r["floor_decode_s"]] * len(names))],
             *[[k, *(r["ratios"][j][k] for j in names)] for k in next(iter(r["ratios"].values()))]]
    print_table(f"Ingest, {r['video_s']} s video, device {r['device']}, {r['worker_threads']} worker threads x "
                f"{r.get('compute_threads')} compute threads on {r.get('cores')} cores, "
                f"load {r['loadavg_1m_at_start']} at start (stage: seconds [start-end])", ["", *names], rows)
    vis = r["jobs"]["warm"]["stages"].get("visual", {}).get("output", {})
    print("visual stage:", json.dumps({k: vis.get(k) for k in ("timings_s", "text_reads", "face_work")}))
    print("peak RSS MiB:", r["peak_rss_mib"], " on-screen text vs drawn:", r["text_vs_drawn"])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=90)
    ap.add_argument("--file", type=Path)
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--no-cold", action="store_true", help="skip the first (cold) job")
    ap.add_argument("--keep", type=Path, help="keep the work folder here (the generated video is reusable)")
    ap.add_argument("--disable", default="", help="comma-separated stages to leave out (say so when reporting)")
    args = ap.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="clipdex-bench-ingest-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        r = run(args.seconds, args.file, args.device, not args.no_cold, root,
                tuple(x for x in args.disable.split(",") if x))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    report(r)
    print(f"wrote {write_json('ingest' if args.device == 'cpu' else 'ingest-cuda', r)}")


if __name__ == "__main__":
    main()
