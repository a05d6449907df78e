"""Search and answer quality on labelled queries: recall@1/@5, MRR, and citation precision of ``ask``.

Two sources of labelled queries, processed through the real pipeline (transcribe, visual, index)
in a throw-away data folder:

* the shared corpus: for every English speech file and OCR page, a query made of the reference's
  rarest three-word phrase (IDF over all references) and the expected file; times are not known
  for most corpus files, so these score at the video level;
* generated media: espeak-ng talks of three sentences on known topics with known start times, and a
  card with drawn text; their queries are exact phrases and paraphrases (written here, as labels),
  scored at the video and the time level (the moment must start within ±2 s of the sentence).

``ask`` is scored on the paraphrased questions (each must cite the right video at the right time)
and on questions the library cannot answer (the reply must say so).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

TIME_TOLERANCE_S = 2.0
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
STOP = set("the a an and of to in is it that was for on with as at by be this from or are his her he she you "
           "we they i not but have had has were which".split())

TALKS = {  # title -> sentences (each spoken, 1.5 s apart)
    "Quarterly review": ["Welcome to the quarterly review meeting.",
                         "Our revenue grew by twelve percent compared to last year.",
                         "The new pricing for enterprise customers starts in September."],
    "Product launch": ["The launch of the mobile app is planned for March.",
                       "The marketing team will prepare the announcement video.",
                       "Beta testers reported problems with the login screen."],
    "Hiring update": ["We are hiring three engineers for the platform team.",
                      "Every new employee gets a mentor for the first month.",
                      "Interviews take place on Tuesdays and Thursdays."],
    "Site safety": ["Always wear a helmet on the construction site.",
                    "The fire exit is located next to the elevator.",
                    "Report every accident to the safety officer immediately."],
}
# (query, talk, sentence index): exact wording first, then paraphrases that share few words
GENERATED_QUERIES = [
    ("revenue grew by twelve percent", "Quarterly review", 1, "exact"),
    ("mentor for the first month", "Hiring update", 1, "exact"),
    ("fire exit next to the elevator", "Site safety", 1, "exact"),
    ("login screen problems", "Product launch", 2, "exact"),
    ("how much did sales increase", "Quarterly review", 1, "paraphrase"),
    ("when will the app be released", "Product launch", 0, "paraphrase"),
    ("who helps new staff when they join", "Hiring update", 1, "paraphrase"),
    ("where is the emergency way out", "Site safety", 1, "paraphrase"),
    ("what to do after an injury at work", "Site safety", 2, "paraphrase"),
    ("which days are the job interviews", "Hiring update", 2, "paraphrase"),
    ("cost change for big business clients", "Quarterly review", 2, "paraphrase"),
    ("protective headgear on the building site", "Site safety", 0, "paraphrase"),
]
CARDS = [("ROADMAP 2027", 0.0), ("CUSTOMER CHURN", 3.0)]  # drawn text, start time (3 s each)
OCR_QUERIES = [("roadmap", 0), ("churn", 1)]
UNANSWERABLE = ["What is the capital of Australia?", "Who won the football world cup in 1998?",
                "What is the recipe for lasagna?"]


@dataclass
class Case:
    query: str
    video: str          # label of the expected video
    t: float | None     # expected start (None: video level only)
    group: str
    question: bool = False  # also asked through ``ask``


@dataclass
class Library:
    files: dict[str, Path] = field(default_factory=dict)   # label -> media file
    cases: list[Case] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # label -> error code at upload


def _speak(out: Path, text: str) -> float:
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(out), text], check=True)
    return float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                 str(out)], capture_output=True, text=True, check=True).stdout.strip())


def generated(tmp: Path, lib: Library) -> None:
    for title, lines in TALKS.items():
        parts, starts, t = [], [], 0.0
        for i, line in enumerate(lines):
            wav = tmp / f"{title[:5]}-{i}.wav"
            starts.append(t)
            t += _speak(wav, line) + 1.5
            parts += ["-i", str(wav)]
        chain = "".join(f"[{i}:a]apad=pad_dur=1.5[a{i}];" for i in range(len(lines)))
        chain += "".join(f"[a{i}]" for i in range(len(lines))) + f"concat=n={len(lines)}:v=0:a=1[a]"
        out = tmp / f"{title.replace(' ', '_')}.mp4"
        subprocess.run([FFMPEG, "-v", "error", "-y", *parts, "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10",
                        "-filter_complex", chain, "-map", f"{len(lines)}:v", "-map", "[a]", "-c:v", "libx264",
                        "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out)],
                       check=True)
        lib.files[title] = out
        for q, talk, idx, group in GENERATED_QUERIES:
            if talk == title:
                lib.cases.append(Case(q, title, starts[idx], f"generated-{group}", question=group == "paraphrase"))
    cards = tmp / "cards.mp4"
    draw = ",".join(f"drawtext=fontfile={FONT}:text='{text}':fontsize=36:fontcolor=white:x=(w-tw)/2:y=(h-th)/2:"
                    f"enable='between(t,{t0},{t0 + 2.9})'" for text, t0 in CARDS)
    background = "color=c=0x203040:size=640x360:rate=25:duration=6"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", background, "-vf", draw, "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(cards)], check=True)
    lib.files["Cards"] = cards
    lib.cases += [Case(q, "Cards", CARDS[i][1], "generated-ocr") for q, i in OCR_QUERIES]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def corpus(root: Path, tmp: Path, lib: Library, limit: int | None = None) -> None:
    """English speech (its rarest phrase) and OCR pages (their rarest word) from MANIFEST.json."""
    entries = json.loads((root / "MANIFEST.json").read_text())["entries"]
    speech = [e for e in entries if e["kind"] in ("speech_asr", "av_speech", "speech_multispeaker")
              and e.get("language") == "en" and e.get("ground_truth", {}).get("reference")][:limit]
    pages = [e for e in entries if e["kind"] == "ocr" and e.get("language") == "en"
             and len(_words(e["ground_truth"].get("text", ""))) >= 3]
    docs = {e["id"]: _words(e["ground_truth"].get("reference") or e["ground_truth"].get("text", ""))
            for e in speech + pages}
    df = Counter(w for ws in docs.values() for w in set(ws))
    idf = {w: math.log(len(docs) / n) for w, n in df.items()}
    for e in speech:
        ws = docs[e["id"]]
        grams = [ws[i:i + 3] for i in range(len(ws) - 2)] or [ws]
        best = max(grams, key=lambda g: sum(idf[w] for w in g if w not in STOP))
        lib.files[e["id"]] = root / e["file"]
        lib.cases.append(Case(" ".join(best), e["id"], None, "corpus-speech"))
    for e in pages:
        ws = [w for w in docs[e["id"]] if len(w) >= 5 and w not in STOP] or docs[e["id"]]
        word = max(ws, key=lambda w: idf[w])
        video = tmp / f"{e['id']}.mp4"  # a still page shown for 3 s, as on a slide
        subprocess.run([FFMPEG, "-v", "error", "-y", "-loop", "1", "-t", "3", "-i", str(root / e["file"]),
                        "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p", "-r", "5", "-c:v", "libx264",
                        "-preset", "ultrafast", str(video)], check=True)
        lib.files[e["id"]] = video
        lib.cases.append(Case(word, e["id"], None, "corpus-ocr"))


PIPELINE = ("fetch", "probe", "extract_audio", "thumbnail", "transcribe", "visual", "index")


def _process(settings, lib: Library):
    """Upload every file for one tenant and run the pipeline; returns (platform, principal, label -> video id)."""
    from clipdex.auth.principal import Principal
    from clipdex.db import migrate
    from clipdex.errors import MediaRejected
    from clipdex.ingest.service import IngestMeta, accept, stage_copy
    from clipdex.jobs.worker import Worker
    from clipdex.pipeline import registry
    from clipdex.platform import Platform
    from clipdex.tenancy.service import create_tenant

    registry.discover()
    settings.disabled_stages = [n for n in registry.all_stages() if n not in PIPELINE]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    platform = Platform.from_settings(settings)
    tenant = create_tenant(platform, "Search eval", "enterprise")
    principal = Principal(tenant_id=tenant.id, actor_type="user", actor_id=uuid.uuid4(), role="owner",
                          tenant_tier="enterprise")
    ids, rejected = {}, lib.rejected
    for label, path in lib.files.items():
        staged = stage_copy(settings, path)
        try:
            ids[label] = accept(platform, principal, staged, IngestMeta(title=label, filename=path.name)).id
        except MediaRejected as e:  # reported, and its queries are left out
            rejected[label] = e.code
    Worker(platform, name="eval").drain()
    lib.cases = [c for c in lib.cases if c.video in ids]
    return platform, principal, ids


def _hit(item: dict, vid: uuid.UUID, t: float | None) -> bool:
    if item["video_id"] != str(vid):
        return False
    return t is None or abs(item["start"] - t) <= TIME_TOLERANCE_S or item["start"] <= t <= item["end"]


def _score_search(platform, principal, lib: Library, ids: dict) -> list[dict]:
    from clipdex.search.service import SearchParams, search

    rows = []
    for c in lib.cases:
        items = search(platform, principal, SearchParams(q=c.query, limit=10))["items"]
        rank = next((i + 1 for i, it in enumerate(items) if _hit(it, ids[c.video], c.t)), None)
        video_rank = next((i + 1 for i, it in enumerate(items) if it["video_id"] == str(ids[c.video])), None)
        rows.append({"query": c.query, "group": c.group, "expected": c.video, "t": c.t, "rank": rank,
                     "video_rank": video_rank, "top": items[0]["video_title"] if items else None,
                     "top_start": items[0]["start"] if items else None})
    return rows


def _score_ask(platform, principal, lib: Library, ids: dict) -> dict:
    from clipdex.rag.service import ask

    cited = correct = answered = 0
    details = []
    for c in (c for c in lib.cases if c.question):
        r = ask(platform, principal, c.query, [], None)
        ok = [x for x in r["citations"] if str(x["video_id"]) == str(ids[c.video]) and
              (c.t is None or x["start"] - TIME_TOLERANCE_S <= c.t <= x["end"] + TIME_TOLERANCE_S)]
        cited += len(r["citations"])
        correct += len(ok)
        answered += bool(r["supported"] and ok)
        details.append({"question": c.query, "supported": r["supported"], "citations": len(r["citations"]),
                        "correct_citations": len(ok), "answer": r["answer"][:200]})
    refused = 0
    for q in UNANSWERABLE:
        r = ask(platform, principal, q, [], None)
        refused += not r["supported"] and not r["citations"]
        details.append({"question": q, "supported": r["supported"], "citations": len(r["citations"]),
                        "expected": "not found", "answer": r["answer"][:200]})
    n = sum(1 for c in lib.cases if c.question)
    return {"citation_precision": round(correct / cited, 3) if cited else None, "citations": cited,
            "answered_with_correct_citation": f"{answered}/{n}",
            "not_found_when_absent": f"{refused}/{len(UNANSWERABLE)}", "details": details}


def metrics(rows: list[dict], key: str = "rank") -> dict:
    n = len(rows) or 1
    return {"queries": len(rows), "recall@1": round(sum(1 for r in rows if r[key] == 1) / n, 3),
            "recall@5": round(sum(1 for r in rows if r[key] and r[key] <= 5) / n, 3),
            "mrr": round(sum(1 / r[key] for r in rows if r[key]) / n, 3)}


def evaluate(corpus_dir: Path | None, *, limit: int | None = None, with_ask: bool = True, settings=None) -> dict:
    """Build the library, process it, and score every labelled query."""
    from clipdex.settings import Settings

    with tempfile.TemporaryDirectory(prefix="clipdex-eval-search-") as tmp_name:
        tmp = Path(tmp_name)
        lib = Library()
        generated(tmp, lib)
        if corpus_dir is not None:
            corpus(corpus_dir, tmp, lib, limit)
        base = settings.model_dump() if settings else {}
        base.update(data_dir=tmp / "data", database_url=None, storage_url=None, index_uri=None, worker_threads=0,
                    env="test", secret_key="e" * 40)
        platform, principal, ids = _process(Settings(**base), lib)
        try:
            rows = _score_search(platform, principal, lib, ids)
            groups = sorted({r["group"] for r in rows})
            result = {"overall": metrics(rows), "overall_video_level": metrics(rows, "video_rank"),
                      "by_group": {g: metrics([r for r in rows if r["group"] == g]) for g in groups},
                      "queries": rows, "videos": len(ids), "rejected": lib.rejected}
            if with_ask:
                from clipdex.evaluation import answerability

                result["ask"] = _score_ask(platform, principal, lib, ids)
                result["answerability"] = {"before": answerability.score(platform, principal, ids, answerability=False),
                                           "after": answerability.score(platform, principal, ids, answerability=True)}
        finally:
            platform.close()
    return result


def render(result: dict, console) -> None:
    from rich.table import Table

    t = Table("group", "queries", "recall@1", "recall@5", "MRR", title=f"search over {result['videos']} videos")
    for g, m in [("overall", result["overall"]), ("overall (video level)", result["overall_video_level"]),
                 *result["by_group"].items()]:
        t.add_row(g, str(m["queries"]), f"{m['recall@1']:.3f}", f"{m['recall@5']:.3f}", f"{m['mrr']:.3f}")
    console.print(t)
    misses = [r for r in result["queries"] if r["rank"] != 1]
    for r in misses:
        console.print(f"[dim]rank {r['rank']}: {r['query']!r} -> expected {r['expected']} @ {r['t']}, "
                      f"top {r['top']} @ {r['top_start']}[/dim]")
    if "ask" in result:
        a = result["ask"]
        console.print(f"ask: citation precision {a['citation_precision']} over {a['citations']} citations; "
                      f"answered with a correct citation {a['answered_with_correct_citation']}; "
                      f"'not found' for absent answers {a['not_found_when_absent']}")
    if "answerability" in result:
        t = Table("answerability decision", "questions", "answered", "answer precision", "correct 'not found'",
                  "answer recall", title="ask on labelled questions (extractive backend)")
        for name, m in result["answerability"].items():
            t.add_row(f"{name} ({'on' if name == 'after' else 'off'})", f"{m['questions']} "
                      f"({m['answerable']} answerable)", str(m["answered"]), str(m["answer_precision"]),
                      str(m["not_found_correct"]), str(m["answer_recall"]))
        console.print(t)
