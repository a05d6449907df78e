"""Evaluation on the test split: exact match, token F1, ROUGE-L, faithfulness; base vs fine-tuned.

Faithfulness is the share of answers the citation verifier (rag/citations.py) accepts against the
item's source span. An answer alone ("March") is too short to judge, so the verifier reads the
statement it makes: the cloze sentence with the blank filled, or the question followed by the answer.
"""

from __future__ import annotations

import re
import string
import uuid
from collections import Counter

from clipdex.training import questions as qg
from clipdex.training.finetune import prompt

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(pred: str, gold: str) -> float:
    return float(normalize(pred) == normalize(gold))


def token_f1(pred: str, gold: str) -> float:
    p, g = normalize(pred).split(), normalize(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(pred: str, gold: str) -> float:
    """ROUGE-L F-measure over normalised tokens (Lin 2004, beta = 1)."""
    p, g = normalize(pred).split(), normalize(gold).split()
    if not p or not g:
        return float(p == g)
    lcs = _lcs(p, g)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(p), lcs / len(g)
    return 2 * precision * recall / (precision + recall)


def statement(question: str, answer: str) -> str:
    return qg.fill_cloze(question, answer) or f"{question} {answer}"


def faithful(items: list[dict], preds: list[str], embedder) -> list[bool]:
    from clipdex.rag.citations import Quote, Sentence, SupportChecker

    checker = SupportChecker(embedder)
    out = []
    for it, pred in zip(items, preds):
        if not pred.strip():
            out.append(False)
            continue
        quote = Quote(1, uuid.uuid4(), float(it.get("start") or 0), float(it.get("end") or 0),
                      it.get("context") or "")
        checked = checker.check([Sentence(statement(it["question"], pred), [1])], [quote])
        out.append(bool(checked[0].supported))
    return out


def score(items: list[dict], preds: list[str], embedder) -> dict:
    n = len(items)
    if n == 0:
        return {"n": 0, "exact_match": None, "token_f1": None, "rouge_l": None, "faithfulness": None}
    golds = [it["answer"] for it in items]
    faith = faithful(items, preds, embedder)
    return {
        "n": n,
        "exact_match": round(sum(exact_match(p, g) for p, g in zip(preds, golds)) / n, 4),
        "token_f1": round(sum(token_f1(p, g) for p, g in zip(preds, golds)) / n, 4),
        "rouge_l": round(sum(rouge_l(p, g) for p, g in zip(preds, golds)) / n, 4),
        "faithfulness": round(sum(faith) / n, 4),
    }


def generate(model, tok, kind: str, pairs: list[tuple[str, str]], *, max_new_tokens: int = 24,
             batch_size: int = 8) -> list[str]:
    """Greedy answers to (question, context) pairs; a causal model's answer ends at its first line break."""
    import torch

    out: list[str] = []
    device = next(model.parameters()).device
    side = tok.padding_side
    tok.padding_side = "left" if kind == "causal" else "right"
    try:
        for i in range(0, len(pairs), batch_size):
            texts = [prompt(q, c) for q, c in pairs[i:i + batch_size]]
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=kind != "causal",
                      truncation=True, max_length=512).to(device)
            with torch.inference_mode():
                gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=tok.pad_token_id)
            if kind == "causal":
                gen = gen[:, enc["input_ids"].shape[1]:]
            for row in gen:
                text = tok.decode(row, skip_special_tokens=True)
                out.append(text.strip().split("\n")[0].strip())
    finally:
        tok.padding_side = side
    return out


def compare(model, base_model, tok, kind: str, items: list[dict], embedder) -> dict:
    """Metrics of the fine-tuned model and of its base on the same items.

    ``base_model=None`` with a peft model: the base is the same weights with the adapter switched off.
    """
    pairs = [(it["question"], it.get("context") or "") for it in items]
    tuned = generate(model, tok, kind, pairs)
    if base_model is None:
        with model.disable_adapter():
            base = generate(model, tok, kind, pairs)
    else:
        base = generate(base_model, tok, kind, pairs)
    ft_scores, base_scores = score(items, tuned, embedder), score(items, base, embedder)
    beats = None if not items else (ft_scores["token_f1"] > base_scores["token_f1"])
    examples = [{"question": it["question"], "answer": it["answer"], "fine_tuned": t, "base": b}
                for it, t, b in list(zip(items, tuned, base))[:5]]
    return {"fine_tuned": ft_scores, "base": base_scores, "beats_base": beats, "examples": examples}
