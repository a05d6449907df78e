"""The checks: small plug-ins, each with one method, ``evaluate(measurements, rule) -> Outcome``.

A check reads only the stored measurements (never the media) and its rule from the policy, and
returns findings plus the numbers it judged. ``None`` measurements mean "not measured" (the stage
that provides them did not run), which is reported as such, never as a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from clipdex.compliance import language as lang
from clipdex.compliance.flashes import violating_spans


@dataclass
class Finding:
    check: str
    severity: str
    start_s: float
    end_s: float
    message: str
    evidence: dict = field(default_factory=dict)
    suggestion: str = ""

    def as_dict(self) -> dict:
        return {"check": self.check, "severity": self.severity, "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3), "message": self.message, "evidence": self.evidence,
                "suggestion": self.suggestion}


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    measured: dict = field(default_factory=dict)
    status: str = "measured"  # measured | not_measured


class Check(Protocol):
    name: str

    def evaluate(self, m: dict, rule: dict) -> Outcome: ...


CHECKS: dict[str, Check] = {}


def register(cls):
    CHECKS[cls.name] = cls()
    return cls


def _runs(times: list[float], flags: list[bool], min_s: float, end: float) -> list[tuple[float, float]]:
    """Stretches where ``flags`` hold for at least ``min_s`` (a stretch ends at the next frame's time)."""
    out, start = [], None
    for t, f in zip(times, flags):
        if f and start is None:
            start = t
        if not f and start is not None:
            if t - start >= min_s - 1e-6:
                out.append((start, t))
            start = None
    if start is not None and end - start >= min_s - 1e-6:
        out.append((start, end))
    return out


def _end(m: dict) -> float:
    pic = m.get("picture") or {}
    t = pic.get("t") or []
    step = 1.0 / pic["fps"] if pic.get("fps") else 0.04
    return max(float(m.get("video", {}).get("duration_s") or 0.0), (t[-1] + step) if t else 0.0)


def _f(x: float) -> str:
    return f"{x:.1f}"


@register
class Loudness:
    name = "loudness"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        ld = m.get("loudness")
        if not ld:
            return Outcome(status="not_measured")
        sev, out = rule["severity"], Outcome(measured={k: ld.get(k) for k in (
            "integrated_lufs", "lra_lu", "true_peak_dbtp", "sample_peak_dbfs")})
        i, target, tol = ld.get("integrated_lufs"), rule["target_lufs"], rule["tolerance_lu"]
        out.measured.update(target_lufs=target, tolerance_lu=tol,
                            gain_db=round(target - i, 1) if i is not None else None)
        end = float(m.get("video", {}).get("duration_s") or 0.0)
        if i is not None and abs(i - target) > tol:
            out.findings.append(Finding(self.name, sev, 0.0, end,
                                        f"Integrated loudness {_f(i)} LUFS, target {_f(target)} ± {tol:g} LU",
                                        {"integrated_lufs": i, "target_lufs": target},
                                        f"Apply {target - i:+.1f} dB of gain (then re-check true peak)."))
        tp, tp_max = ld.get("true_peak_dbtp"), rule.get("max_true_peak_dbtp")
        if tp is not None and tp_max is not None and tp > tp_max:
            after = tp + (target - i if i is not None else 0.0)
            out.findings.append(Finding(self.name, sev, 0.0, end, f"True peak {_f(tp)} dBTP above {_f(tp_max)} dBTP",
                                        {"true_peak_dbtp": tp, "max_true_peak_dbtp": tp_max},
                                        f"Use a true-peak limiter at {tp_max:g} dBTP"
                                        + (f" (after the gain change the peak would be {after:+.1f} dBTP)."
                                           if i is not None else ".")))
        lra, lra_max = ld.get("lra_lu"), rule.get("max_lra_lu")
        if lra is not None and lra_max is not None and lra > lra_max:
            out.findings.append(Finding(self.name, sev, 0.0, end, f"Loudness range {_f(lra)} LU above {_f(lra_max)} LU",
                                        {"lra_lu": lra}, "Compress the dynamics or ride the dialogue level."))
        return out


@register
class Flashes:
    name = "flashes"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        pic = m.get("picture")
        if not pic:
            return Outcome(status="not_measured")
        limit = int(rule["max_flashes_per_s"]) * 2  # a flash is a pair of opposing transitions
        kinds = ["general"] + (["red"] if rule.get("red", True) else [])
        out = Outcome(measured={k: len(pic["flashes"][k]) for k in kinds} | {"max_transitions_per_s": limit})
        for kind in kinds:
            for sp in violating_spans([t for t, _ in pic["flashes"][kind]], limit):
                label = "Saturated red flashing" if kind == "red" else "Flashing"
                out.findings.append(Finding(
                    self.name, rule["severity"], sp["start_s"], sp["end_s"],
                    f"{label}: {sp['peak_per_s']} transitions ({sp['peak_per_s'] / 2:g} flashes) in one second, "
                    f"limit {limit // 2} flashes",
                    {"kind": kind, "peak_transitions_per_s": sp["peak_per_s"]},
                    "Reduce the flash rate to 3 per second or less, or the flashing area below 25 % of the screen."))
        return out


def _runs_outcome(check: str, severity: str, runs: list[tuple[float, float]], what: str, suggestion: str,
                  **evidence) -> Outcome:
    """One finding per (start, end) stretch, "<what> for N.N s", and the number of stretches."""
    return Outcome([Finding(check, severity, a, b, f"{what} for {b - a:.1f} s",
                            {"duration_s": round(b - a, 2), **evidence}, suggestion) for a, b in runs],
                   {"runs": len(runs)})


@register
class Black:
    name = "black"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        pic = m.get("picture")
        if not pic:
            return Outcome(status="not_measured")
        flags = [r >= rule["pixel_ratio"] for r in pic["black_ratio"]]
        runs = _runs(pic["t"], flags, rule["min_s"], _end(m))
        return _runs_outcome(self.name, rule["severity"], runs, "Black picture", "Remove or shorten the black stretch.")


@register
class Freeze:
    name = "freeze"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        pic = m.get("picture")
        if not pic:
            return Outcome(status="not_measured")
        # a black stretch is also "frozen": it is reported by the black check, not twice
        flags = [d <= rule["max_diff"] and r < 0.98 for d, r in zip(pic["diff"], pic["black_ratio"])]
        step = 1.0 / pic["fps"] if pic.get("fps") else 0.04
        # the first frame of a frozen stretch differs from its predecessor: the stretch starts one frame early
        runs = [(max(0.0, a - step), b) for a, b in _runs(pic["t"], flags, max(0.0, rule["min_s"] - step), _end(m))]
        return _runs_outcome(self.name, rule["severity"], runs, "Frozen picture", "Check the edit for a stuck frame.")


@register
class Silence:
    name = "silence"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        ld = m.get("loudness")
        if not ld:
            return Outcome(status="not_measured" if m.get("video", {}).get("has_audio") else "measured")
        s = ld["series"]
        # momentary loudness is a 400 ms window ending at t: shift by 0.2 s to centre it
        times = [max(0.0, t - 0.2) for t in s["t"]]
        flags = [v < rule["threshold_lufs"] for v in s["momentary"]]
        end = (s["t"][-1] + s["step_s"]) if s["t"] else 0.0
        runs = _runs(times, flags, rule["min_s"], end)
        return _runs_outcome(self.name, rule["severity"], runs, "Silence", "Check for missing audio in this stretch.",
                             threshold_lufs=rule["threshold_lufs"])


@register
class AudioPresent:
    name = "audio_present"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        has = bool(m.get("video", {}).get("has_audio"))
        if has:
            return Outcome(measured={"has_audio": True})
        end = float(m.get("video", {}).get("duration_s") or 0.0)
        return Outcome([Finding(self.name, rule["severity"], 0.0, end, "The video has no audio track", {},
                                "Deliver the programme with its sound.")], {"has_audio": False})


def _word_finding(check: str, sev: str, words: list[lang.Word], a: int, b: int, message: str, source: str,
                  suggestion: str, **extra) -> Finding:
    return Finding(check, sev, words[a].start, words[b].end, message,
                   {"source": source, "words": [w.text for w in words[a:b + 1]]} | extra, suggestion)


@register
class Language:
    name = "language"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        sources = _text_sources(m, rule.get("on_screen", True))
        if sources is None:
            return Outcome(status="not_measured")
        terms = set(rule.get("banned_terms") or [])
        out = Outcome(measured={"words": sum(len(w) for _, w in sources)})
        prof = lang.profanity_words() if rule.get("profanity", True) else frozenset()
        for source, words in sources:
            for a, b, term in lang.term_matches(words, terms | prof, rule.get("allowed_terms") or ()):
                banned = {" ".join(lang.norm(p) for p in t.split()) for t in terms}
                kind = "banned term" if term in banned else "profanity"
                where = "said" if source == "speech" else "shown on screen"
                out.findings.append(_word_finding(self.name, rule["severity"], words, a, b,
                                                  f"{kind.capitalize()} {where}: \u201c{term}\u201d", source,
                                                  "Bleep or cut the word, or blur the text.", term=term, kind=kind))
        return out


@register
class PersonalData:
    name = "personal_data"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        sources = _text_sources(m, rule.get("on_screen", True))
        if sources is None:
            return Outcome(status="not_measured")
        out = Outcome()
        for source, words in sources:
            for hit in lang.personal_data(words, rule.get("kinds") or [], rule.get("phone_region", "US")):
                label = {"email": "E-mail address", "phone": "Phone number", "card": "Card number"}[hit["kind"]]
                where = "spoken" if source == "speech" else "on screen"
                out.findings.append(_word_finding(self.name, rule["severity"], words, hit["first"], hit["last"],
                                                  f"{label} {where}", source,
                                                  "Bleep or blur the personal data unless consent is on file.",
                                                  kind=hit["kind"], value=hit["value"]))
        out.measured = {"found": len(out.findings)}
        return out


def _text_sources(m: dict, on_screen: bool) -> list[tuple[str, list[lang.Word]]] | None:
    sources = []
    if m.get("words") is not None:
        sources.append(("speech", lang.words_of_transcript(m["words"])))
    if on_screen and m.get("screen_text") is not None:
        for span in m["screen_text"]:
            sources.append(("on_screen", lang.words_of_text_span(span)))
    return sources if sources else None


@register
class Nudity:
    name = "nudity"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        samples = (m.get("picture") or {}).get("nudity")
        if samples is None:
            return Outcome(status="not_measured")
        classes = set(rule.get("classes") or [])
        period = float(m.get("picture", {}).get("nudity_period_s") or 2.0)
        hits = []
        for smp in samples:
            boxes = [b for b in smp["boxes"] if b["class"] in classes and b["score"] >= rule["min_box_score"]]
            if smp["score"] >= rule["min_score"] or boxes:
                hits.append((smp, boxes))
        out = Outcome(measured={"samples": len(samples), "max_score": max((s["score"] for s in samples), default=0.0)})
        merged: list[list] = []
        for smp, boxes in hits:  # neighbouring samples form one finding
            if merged and smp["t"] - merged[-1][1] <= period * 1.5:
                merged[-1][1] = smp["t"]
                merged[-1][2].append((smp, boxes))
            else:
                merged.append([smp["t"], smp["t"], [(smp, boxes)]])
        for a, b, group in merged:
            best, boxes = max(group, key=lambda g: max([g[0]["score"]] + [x["score"] for x in g[1]]))
            out.findings.append(Finding(
                self.name, rule["severity"], a, b + period, "Nudity detected",
                {"score": best["score"], "classes": sorted({x["class"] for _, bx in group for x in bx}),
                 "thumbnail": best.get("evidence"), "t": best["t"]},
                "Review the shot; blur or cut it for this audience."))
        return out


@register
class ViolenceAudio:
    name = "violence_audio"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        events = m.get("sound_events")
        if events is None:
            return Outcome(status="not_measured")
        tags = set(rule.get("tags") or [])
        hits = [e for e in events if e["tag"] in tags and e["confidence"] >= rule["min_confidence"]]
        return Outcome([Finding(self.name, rule["severity"], e["start"], e["end"], f"Sound of {e['tag']}",
                                {"tag": e["tag"], "confidence": e["confidence"]},
                                "Check the scene against the audience rules.") for e in hits], {"events": len(hits)})


@register
class Letterbox:
    name = "letterbox"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        pic = m.get("picture")
        if not pic:
            return Outcome(status="not_measured")
        bars = pic.get("bars") or []
        boxed = [b for b in bars
                 if min(b[1], b[2]) >= rule["min_bar_share"] or min(b[3], b[4]) >= rule["min_bar_share"]]
        share = len(boxed) / len(bars) if bars else 0.0
        out = Outcome(measured={"share_of_video": round(share, 3)})
        if bars and share >= rule["min_share_of_video"]:
            kind = "Letterboxed" if min(boxed[0][1], boxed[0][2]) >= rule["min_bar_share"] else "Pillarboxed"
            out.findings.append(Finding(self.name, rule["severity"], boxed[0][0], boxed[-1][0] + 1.0,
                                        f"{kind} picture for {share:.0%} of the video", {"share": round(share, 3)},
                                        "Deliver the picture without baked-in bars."))
        return out


@register
class Format:
    name = "format"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        v = m.get("video") or {}
        out = Outcome(measured={k: v.get(k) for k in ("width", "height", "fps", "video_codec", "duration_s")})
        problems = []
        if rule.get("min_width") and (v.get("width") or 0) < rule["min_width"]:
            problems.append(f"width {v.get('width')} below {rule['min_width']:g}")
        if rule.get("min_height") and (v.get("height") or 0) < rule["min_height"]:
            problems.append(f"height {v.get('height')} below {rule['min_height']:g}")
        rates = rule.get("frame_rates") or []
        if rates and v.get("fps") and not any(abs(v["fps"] - r) < 0.01 for r in rates):
            problems.append(f"frame rate {v['fps']:g} not one of {', '.join(f'{r:g}' for r in rates)}")
        codecs = [c.lower() for c in rule.get("codecs") or []]
        if codecs and (v.get("video_codec") or "").lower() not in codecs:
            problems.append(f"codec {v.get('video_codec')} not one of {', '.join(codecs)}")
        d = v.get("duration_s") or 0.0
        if rule.get("min_duration_s") and d < rule["min_duration_s"]:
            problems.append(f"duration {d:.1f} s below {rule['min_duration_s']:g} s")
        if rule.get("max_duration_s") and d > rule["max_duration_s"]:
            problems.append(f"duration {d:.1f} s above {rule['max_duration_s']:g} s")
        for p in problems:
            out.findings.append(Finding(self.name, rule["severity"], 0.0, d, f"Format: {p}", {},
                                        "Re-encode to the delivery specification."))
        return out


@register
class Captions:
    name = "captions"

    def evaluate(self, m: dict, rule: dict) -> Outcome:
        segs, events = m.get("segments"), m.get("sound_events")
        if segs is None or events is None:
            return Outcome(status="not_measured")
        speech = [(e["start"], e["end"]) for e in events if e["tag"] == "speech"]
        total = sum(b - a for a, b in speech)
        covered = sum(max(0.0, min(b, d) - max(a, c)) for a, b in speech for c, d in segs)
        share = covered / total if total else 1.0
        out = Outcome(measured={"speech_s": round(total, 1), "coverage": round(share, 3)})
        if total and share < rule["min_coverage"]:
            end = float(m.get("video", {}).get("duration_s") or 0.0)
            out.findings.append(Finding(self.name, rule["severity"], 0.0, end,
                                        f"Captions cover {share:.0%} of the speech, "
                                        f"policy asks {rule['min_coverage']:.0%}",
                                        {"coverage": round(share, 3)}, "Correct or complete the subtitles."))
        return out
