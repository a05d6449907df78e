"""Per-stage cost of the whole default pipeline, with blobs on the local folder and on S3 (moto).

    .venv/bin/python -m bench.stages [--seconds 60]

Generates one video (640x360 test pattern with a caption, espeak-ng speech in two voices, music,
silence), then processes it in this process with every default stage on: first on the local store
(cold: includes loading every model), then on S3 served by ``moto_server`` in its own process, then
on the local store again (warm). Reports each stage's wall time from the job's stage rows, the
sum, and seconds of work per minute of video: the number the sizing table in deploy/README.md
divides into a day of worker time.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench.asr import make_audio
from bench.common import free_port, print_table, warn_if_busy, write_json
from bench.storage import _moto

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def make_video(out: Path, seconds: int) -> Path:
    wav = make_audio(out.parent / "speech.wav", seconds / 60)
    text = (f"drawtext=fontfile={FONT}:text='Quarterly results 2026':fontsize=28:fontcolor=white:box=1:"
            "boxcolor=black:x=40:y=300")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=640x360:rate=25:duration={seconds}",
                    "-i", str(wav), "-vf", text, "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out)], check=True)
    return out


def process(video: Path, root: Path, **overrides) -> dict:
    from sqlalchemy import select

    from clipdex.db import migrate
    from clipdex.demo import process_file
    from clipdex.models import Job, JobStage
    from clipdex.pipeline import registry
    from clipdex.platform import Platform
    from clipdex.settings import Settings
    from clipdex.tenancy import service as tenants

    settings = Settings(data_dir=root, env="test", worker_threads=0, secret_key="b" * 40, **overrides)
    root.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    registry.discover()
    platform = Platform.from_settings(settings)
    slug = f"bench-{uuid.uuid4().hex[:6]}"
    tenants.create_tenant_with_owner(platform, "Bench", "enterprise", slug=slug, actor="bench",
                                     owner_email=f"owner@{slug}.example.com", owner_password="bench password 0123")
    t0 = time.perf_counter()
    video_id, status = process_file(platform, video, slug)
    wall = time.perf_counter() - t0
    with platform.db.system() as s:
        job = s.scalar(select(Job).where(Job.video_id == video_id))
        stages = {st.name: (st.duration_s or 0.0, st.status)
                  for st in s.scalars(select(JobStage).where(JobStage.job_id == job.id).order_by(JobStage.position))}
    platform.close()
    return {"status": status, "wall_s": wall, "stages": stages}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60)
    args = ap.parse_args(argv)
    load = warn_if_busy()
    root = Path(tempfile.mkdtemp(prefix="clipdex-bench-stages-"))
    port = free_port()
    moto = _moto(port)
    try:
        video = make_video(root / "bench.mp4", args.seconds)
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                     aws_secret_access_key="bench-secret").create_bucket(Bucket="bench-bucket")
        s3 = dict(storage_url="s3://bench-bucket/b", s3_endpoint_url=endpoint, s3_access_key_id="bench",
                  s3_secret_access_key="bench-secret")
        runs = {"local (cold)": process(video, root / "local-cold"),
                "s3 (warm)": process(video, root / "s3", **s3),
                "local (warm)": process(video, root / "local-warm")}
    finally:
        moto.terminate()
        moto.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    names = list(next(iter(runs.values()))["stages"])
    rows = [[n, *(runs[r]["stages"].get(n, (0.0, "-"))[0] for r in runs), runs["local (warm)"]["stages"][n][1]]
            for n in names]
    rows.append(["(wall, whole job)", *(runs[r]["wall_s"] for r in runs), ""])
    minutes = args.seconds / 60
    rows.append(["(work s per video minute)", *(runs[r]["wall_s"] / minutes for r in runs), ""])
    print_table(f"Stage wall time in seconds, {args.seconds} s 640x360 video, all default stages",
                ["stage", *runs, "status"], rows)
    path = write_json("stages", {"video_seconds": args.seconds, "loadavg_1m_at_start": load, "runs": runs})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
