"""Scoring helpers shared by the evaluations: boundary matching, box matching, edit distances."""

from __future__ import annotations


def prf(tp: int, n_pred: int, n_gt: int) -> dict:
    p = tp / n_pred if n_pred else (1.0 if not n_gt else 0.0)
    r = tp / n_gt if n_gt else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def match_boundaries(pred: list[int], cuts: list[int], graduals: list[list[int]], tol: int = 1) -> dict:
    """Greedy one-to-one matching (PySceneDetect/TRECVID convention): a prediction within ``tol``
    frames of a hard cut matches it, one inside ``[start-1, end+1]`` matches that transition."""
    used_c, used_g, offsets = set(), set(), []
    tp_c = tp_g = 0
    for p in sorted(pred):
        best = min(((abs(p - c), i) for i, c in enumerate(cuts) if i not in used_c and abs(p - c) <= tol),
                   default=None)
        if best is not None:
            used_c.add(best[1])
            tp_c += 1
            offsets.append(best[0])
            continue
        g = next((i for i, (s, e) in enumerate(graduals) if i not in used_g and s - 1 <= p <= e + 1), None)
        if g is not None:
            used_g.add(g)
            tp_g += 1
    return {"tp_cuts": tp_c, "tp_gradual": tp_g, "n_pred": len(pred), "n_cuts": len(cuts),
            "n_gradual": len(graduals), "offsets": offsets}


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def match_boxes(pred: list, gt: list, thr: float) -> int:
    """Greedy matching by IoU, best pairs first; returns the number of matches."""
    pairs = sorted(((iou(p, g), i, j) for i, p in enumerate(pred) for j, g in enumerate(gt)), reverse=True)
    used_p, used_g, tp = set(), set(), 0
    for v, i, j in pairs:
        if v < thr:
            break
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        tp += 1
    return tp


def edit_distance(a: list | str, b: list | str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions) between two sequences: the
    numerator of WER on word lists and of CER on strings or character lists."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def normalise_text(s: str) -> str:
    return " ".join(s.split())
