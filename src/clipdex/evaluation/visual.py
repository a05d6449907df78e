"""``clipdex eval shots|faces|ocr``: the visual analyzers against a corpus in the format of
``../shared/corpus`` (``MANIFEST.json`` entries with ``kind`` and ``ground_truth``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np

from clipdex.evaluation.scoring import edit_distance, match_boundaries, match_boxes, normalise_text, prf
from clipdex.settings import Settings


def _entries(corpus: Path, kinds: tuple[str, ...]) -> list[dict]:
    m = json.loads((corpus / "MANIFEST.json").read_text())
    return [e for e in m["entries"] if e.get("kind") in kinds]


def detect_shots(settings: Settings, path: Path, width: int = 320, *,
                 times: list[float] | None = None) -> tuple[list[int], float, int]:
    """Boundary frames of ``path`` (one decode), its frame rate and frame count; ``times`` (if given)
    receives each boundary's presentation time in seconds."""
    from clipdex.analyzers.shots import ShotDetector, feature
    from clipdex.media.frames import probe_spec, read_frames

    spec = probe_spec(settings, path, width)
    det = ShotDetector(spec.fps)
    for f in read_frames(settings, path, spec):
        det.feed(feature(f.image), f.t)
    bounds = det.boundaries()
    if times is not None:
        times[:] = [det.time_at(b.frame) for b in bounds]
    return [b.frame for b in bounds], spec.fps, det.n


def _variable_frame_rate(corpus: Path, e: dict) -> bool:
    """The entry (or its sidecar, ``ground_truth_file``) says ``variable_frame_rate: true``, or gives
    its cuts only as ``hard_cut_times_s``."""
    gt = e.get("ground_truth") or {}
    if gt.get("variable_frame_rate") or e.get("variable_frame_rate"):
        return True
    if gt.get("hard_cut_times_s") and not gt.get("hard_cuts"):  # cuts given only as times: VFR convention
        return True
    side = e.get("ground_truth_file")
    if side and (corpus / side).is_file():
        try:
            return bool(json.loads((corpus / side).read_text()).get("variable_frame_rate"))
        except (ValueError, OSError):
            return False
    return False


def eval_shots(corpus: Path, settings: Settings) -> dict:
    files, tot = [], {"tp_cuts": 0, "tp_gradual": 0, "n_pred": 0, "n_cuts": 0, "n_gradual": 0}
    offsets: list[int] = []
    for e in _entries(corpus, ("shot_boundary", "av_speech")):
        gt = e.get("ground_truth") or {}
        t0 = time.perf_counter()
        pred_t: list[float] = []
        pred, fps, _ = detect_shots(settings, corpus / e["file"], times=pred_t)
        wall = time.perf_counter() - t0
        cuts = list(gt.get("hard_cuts") or [])
        graduals = [list(g) for g in gt.get("gradual_transitions") or []]
        if _variable_frame_rate(corpus, e):
            # variable frame rate: frame numbers mean nothing; match presentation times, +-0.05 s (in ms)
            cut_t = gt.get("hard_cut_times_s") or [c / fps for c in cuts]
            r = match_boundaries([int(round(t * 1000)) for t in pred_t], [int(round(t * 1000)) for t in cut_t],
                                 [[int(round(a / fps * 1000)), int(round(b / fps * 1000))] for a, b in graduals]
                                 if not gt.get("gradual_times_s") else
                                 [[int(round(a * 1000)), int(round(b * 1000))] for a, b in gt["gradual_times_s"]],
                                 tol=50)
            r["offsets"] = [int(round(o / 1000 * fps)) for o in r["offsets"]]
            r["matched_by"] = "time_0.05s"
        else:
            if gt.get("hard_cut_times_s"):
                cuts = [int(round(t * fps)) for t in gt["hard_cut_times_s"]]
            r = match_boundaries(pred, cuts, graduals)
        offsets += r.pop("offsets")
        for k in tot:
            tot[k] += r[k]
        files.append({"file": e["file"], "predicted": pred, "predicted_s": [round(t, 3) for t in pred_t],
                      "wall_s": round(wall, 3), **r,
                      **prf(r["tp_cuts"] + r["tp_gradual"], r["n_pred"], r["n_cuts"] + r["n_gradual"])})
    tp_c, tp_g = tot["tp_cuts"], tot["tp_gradual"]
    fp = tot["n_pred"] - tp_c - tp_g
    overall = prf(tp_c + tp_g, tot["n_pred"], tot["n_cuts"] + tot["n_gradual"])
    return {**overall, "tolerance_frames": 1,
            "hard_cuts": prf(tp_c, tp_c + fp, tot["n_cuts"]), "gradual": prf(tp_g, tp_g, tot["n_gradual"]),
            "false_positives": fp, "mean_abs_offset_frames": round(float(np.mean(offsets)), 3) if offsets else None,
            "strict_cut_matches": sum(1 for o in offsets if o == 0), **tot, "files": files}


def _gt_boxes(gt: dict) -> list[tuple[float, float, float, float]]:
    if gt.get("boxes_xywh"):
        return [(b["left"], b["top"], b["width"], b["height"]) for b in gt["boxes_xywh"]]
    if gt.get("box_top_right_bottom_left_from_test"):
        t, r, b, l_ = gt["box_top_right_bottom_left_from_test"]
        return [(l_, t, r - l_, b - t)]
    return []


def eval_faces(corpus: Path, settings: Settings) -> dict:
    from clipdex.analyzers.faces import face_models
    from clipdex.media.frames import probe_spec, read_frames

    fm = face_models()
    files, tp5 = [], 0
    tp3 = n_pred = n_gt = exact = 0
    abs_err = []
    for e in _entries(corpus, ("face_detection",)):
        img = cv2.imread(str(corpus / e["file"]))
        gt = e["ground_truth"]
        boxes = [tuple(float(x) for x in f[:4]) for f in fm.detect(img)]
        gtb = _gt_boxes(gt)
        strict_ok = bool(gt.get("boxes_xywh"))
        m5, m3 = match_boxes(boxes, gtb, 0.5), match_boxes(boxes, gtb, 0.3)
        if strict_ok:  # hand-labelled boxes: P/R at IoU 0.5 and 0.3
            tp5, tp3, n_pred, n_gt = tp5 + m5, tp3 + m3, n_pred + len(boxes), n_gt + len(gtb)
        exact += len(boxes) == gt["face_count"]
        abs_err.append(abs(len(boxes) - gt["face_count"]))
        files.append({"file": e["file"], "expected": gt["face_count"], "found": len(boxes), "iou50": m5,
                      "iou30": m3, "hand_labelled": strict_ok})
    frames_ok = frames = 0
    for e in _entries(corpus, ("av_speech",)):
        want = (e.get("ground_truth") or {}).get("faces_per_frame")
        if want is None:
            continue
        path = corpus / e["file"]
        spec = probe_spec(settings, path, 640)
        got = []
        for f in read_frames(settings, path, spec):
            if f.index % 5 == 0:
                got.append(len(fm.detect(f.image)))
        frames += len(got)
        frames_ok += sum(1 for g in got if g == want)
        files.append({"file": e["file"], "frames": len(got), "frames_with_expected_count": sum(g == want for g in got)})
    n_img = max(1, len(abs_err))
    return {**prf(tp5, n_pred, n_gt), "iou": 0.5, "lenient_iou30": prf(tp3, n_pred, n_gt),
            "count_accuracy": round(exact / n_img, 4), "mean_abs_count_error": round(float(np.mean(abs_err)), 3)
            if abs_err else None, "video_frames_with_expected_count": round(frames_ok / frames, 4) if frames else None,
            "files": files}


def eval_ocr(corpus: Path, settings: Settings) -> dict:
    from clipdex.analyzers.ocr import read_text

    files = []
    ce = cn = we = wn = exact = lines = 0
    for e in _entries(corpus, ("ocr",)):
        img = cv2.imread(str(corpus / e["file"]), cv2.IMREAD_COLOR)
        t0 = time.perf_counter()
        found = read_text(img, min_score=0.5)
        wall = time.perf_counter() - t0
        found.sort(key=_reading_order(found, img.shape[1]))
        hyp = normalise_text(" ".join(t for t, _, _ in found))
        ref = normalise_text(e["ground_truth"]["text"])
        c, w = edit_distance(hyp, ref), edit_distance(hyp.split(), ref.split())
        ce, cn, we, wn = ce + c, cn + len(ref), we + w, wn + len(ref.split())
        single = e["ground_truth"].get("lines") == 1
        if single:
            lines += 1
            exact += hyp == ref
        files.append({"file": e["file"], "language": e.get("language"), "cer": round(c / max(1, len(ref)), 4),
                      "wer": round(w / max(1, len(ref.split())), 4), "wall_s": round(wall, 3),
                      "hypothesis": hyp[:200]})
    return {"cer": round(ce / max(1, cn), 4), "wer": round(we / max(1, wn), 4),
            "single_line_exact": round(exact / lines, 4) if lines else None, "files": files}


def _reading_order(lines: list, width: int):
    """Columns left to right when most lines sit in one half of the page, then top to bottom."""
    narrow = [r for r in lines if r[2][2] < 0.55 * width]
    two_cols = len(lines) >= 6 and len(narrow) >= 0.8 * len(lines)

    def key(r):
        x, y, w, h = r[2]
        col = int(x + w / 2 > width / 2) if two_cols else 0
        return col, round((y + h / 2) / max(8.0, h * 0.6)), x

    return key


EVALS = {"shots": eval_shots, "faces": eval_faces, "ocr": eval_ocr}


def render(kind: str, result: dict, console) -> None:
    from rich.table import Table

    top = {k: v for k, v in result.items() if k != "files"}
    t = Table(*top.keys(), title=f"{kind}: overall")
    t.add_row(*(json.dumps(v) if isinstance(v, dict) else str(v) for v in top.values()))
    console.print(t)
    rows = result["files"]
    if rows:
        cols = sorted({k for r in rows for k in r}, key=lambda k: list(rows[0]).index(k) if k in rows[0] else 99)
        ft = Table(*cols, title=f"{kind}: per file")
        for r in rows:
            ft.add_row(*(str(r.get(c, "")) for c in cols))
        console.print(ft)
