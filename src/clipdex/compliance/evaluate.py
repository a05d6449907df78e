"""Derive a report from stored measurements and a policy: verdict per check, findings by time.

Pure: no database, no media. The same measurements evaluated against two policies give two
reports without any new analysis.
"""

from __future__ import annotations

from clipdex.compliance.checks import CHECKS

ORDER = {"info": 0, "warning": 1, "violation": 2}


def verdict_of(findings: list[dict]) -> str:
    worst = max((ORDER[f["severity"]] for f in findings), default=-1)
    return "fail" if worst == 2 else "warn" if worst == 1 else "pass"


def evaluate(measurements: dict, policy: dict) -> dict:
    """``policy``: ``{"name", "version", "rules", ...}``. Returns the report body (JSON-ready)."""
    checks, findings = [], []
    for name, rule in policy["rules"].items():
        check = CHECKS.get(name)
        if check is None or not rule.get("enabled", True):
            continue
        outcome = check.evaluate(measurements, rule)
        mine = [f.as_dict() for f in outcome.findings]
        findings += mine
        status = "not_measured" if outcome.status == "not_measured" else verdict_of(mine)
        checks.append({"check": name, "verdict": status, "severity": rule["severity"], "findings": len(mine),
                       "measured": outcome.measured})
    findings.sort(key=lambda f: (f["start_s"], -ORDER[f["severity"]], f["check"]))
    for i, f in enumerate(findings):
        f["id"] = i
    counts = {s: sum(1 for f in findings if f["severity"] == s) for s in ORDER}
    verdict = verdict_of(findings)
    if verdict == "pass" and any(c["verdict"] == "not_measured" for c in checks):
        verdict = "incomplete"
    return {"verdict": verdict, "policy": {k: policy.get(k) for k in ("id", "name", "title", "version", "builtin")},
            "counts": counts, "checks": checks, "findings": findings,
            "loudness": _loudness(measurements), "video": measurements.get("video", {}),
            "measured_at": measurements.get("measured_at"), "stage_version": measurements.get("stage_version")}


def _loudness(m: dict) -> dict | None:
    ld = m.get("loudness")
    if not ld:
        return None
    return {k: ld.get(k) for k in ("integrated_lufs", "lra_lu", "true_peak_dbtp", "sample_peak_dbfs", "method")} | {
        "series": ld.get("series")}
