"""Subtitles cut from word timings by broadcast rules, as SRT, WebVTT or plain text.

Rules: at most 42 characters a line and 2 lines a cue; cues last 1-7 s; reading speed at most
17 characters a second (cues are lengthened into the following gap, and a cue is closed before
it would need more time than it has); breaks prefer sentence ends, then commas, then pauses.
"""

from __future__ import annotations

from dataclasses import dataclass

from clipdex.speech import words as wording

MAX_LINE, MAX_LINES, MIN_S, MAX_S, MAX_CPS = 42, 2, 1.0, 7.0, 17.0
PAUSE_S = 0.6  # a silence this long always ends a cue


@dataclass
class Cue:
    start: float
    end: float
    lines: list[str]
    speaker: str | None = None

    @property
    def chars(self) -> int:
        return sum(len(line) for line in self.lines)


def split_lines(words: list[dict]) -> list[str] | None:
    """One or two lines of at most MAX_LINE characters, balanced, breaking after punctuation if close.

    Lines break only where a space is ("400,000" and "quarter-lit" never end up on two lines).
    """
    text = wording.join(words)
    if len(text) <= MAX_LINE:
        return [text]
    best, best_cost = None, None
    for i in range(1, len(words)):
        if not wording.spaced(words[i], words[i - 1]):
            continue
        a, b = wording.join(words[:i]), wording.join(words[i:])
        if len(a) > MAX_LINE or len(b) > MAX_LINE:
            continue
        cost = abs(len(a) - len(b)) - (8 if a[-1:] in ",.;:?!" else 0)
        if best_cost is None or cost < best_cost:
            best, best_cost = [a, b], cost
    return best


def _labelled(words: list[dict], label: str) -> list[dict]:
    return [dict(words[0], word=label + wording.text_of(words[0]))] + words[1:] if label else words


def _fits(words: list[dict], label: str) -> bool:
    tokens = _labelled(words, label)
    if split_lines(tokens) is None:
        return False
    dur = words[-1]["end"] - words[0]["start"]
    return dur <= MAX_S and len(wording.join(tokens)) <= MAX_CPS * MAX_S


def build_cues(words: list[dict], speakers: bool = False) -> list[Cue]:
    """``words``: dicts with word, start, end and optionally space and speaker, in time order."""
    cues: list[Cue] = []
    cur: list[dict] = []

    def close():
        if cur:
            label = f"[{cur[0]['speaker']}] " if speakers and cur[0].get("speaker") else ""
            tokens = _labelled(cur, label)
            cues.append(Cue(cur[0]["start"], cur[-1]["end"], split_lines(tokens) or [wording.join(tokens)],
                            cur[0].get("speaker")))
            cur.clear()

    for w in words:
        if cur:
            prev = cur[-1]
            label = f"[{cur[0]['speaker']}] " if speakers and cur[0].get("speaker") else ""
            gap = w["start"] - prev["end"]
            n_chars = len(wording.join(cur))
            sentence_end = prev["word"][-1:] in ".?!" and prev["end"] - cur[0]["start"] >= MIN_S
            clause_end = prev["word"][-1:] in ",;:" and n_chars >= MAX_LINE * 0.75
            glued = not wording.spaced(w, prev)  # never cut a cue inside "400,000"
            if not glued and (gap >= PAUSE_S or sentence_end or clause_end
                              or w.get("speaker") != cur[0].get("speaker") or not _fits(cur + [w], label)):
                close()
        cur.append(w)
    close()
    return _retime(cues)


def _retime(cues: list[Cue]) -> list[Cue]:
    """Stretch cues to the minimum duration and the reading speed, never into the next cue."""
    for i, c in enumerate(cues):
        limit = cues[i + 1].start - 0.04 if i + 1 < len(cues) else c.start + MAX_S
        want = max(c.start + MIN_S, c.start + c.chars / MAX_CPS, c.end)
        c.end = round(max(c.end, min(want, limit, c.start + MAX_S)), 3)
        c.start = round(c.start, 3)
    return cues


# Sound events worth a label for viewers who cannot hear them (speech and silence never are).
EVENT_TAGS = frozenset({"music", "singing", "applause", "laughter", "cheering", "gunshot", "explosion", "siren",
                        "scream", "dog"})
EVENT_GUARD_S = 0.3  # keep this much air between a speech cue and a sound label


def _free(a: float, b: float, busy: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Parts of [a, b] that no busy interval covers."""
    out = []
    for x, y in sorted(busy):
        if y <= a or x >= b:
            continue
        if x > a:
            out.append((a, x))
        a = max(a, y)
    if b > a:
        out.append((a, b))
    return out


def add_event_cues(cues: list[Cue], events: list[dict], min_s: float = MIN_S) -> list[Cue]:
    """Speech cues plus "[music]"-style labels for sound events in the gaps without speech
    (broadcast convention): each label lasts 1-7 s and never overlaps a speech cue or another label."""
    busy = [(c.start - EVENT_GUARD_S, c.end + EVENT_GUARD_S) for c in cues]
    labels: list[Cue] = []
    for e in sorted(events, key=lambda e: (e["start"], e["tag"])):
        if e["tag"] not in EVENT_TAGS:
            continue
        for a, b in _free(float(e["start"]), float(e["end"]), busy + [(c.start, c.end) for c in labels]):
            if b - a >= min_s:
                labels.append(Cue(round(a, 3), round(min(b, a + MAX_S), 3), [f"[{e['tag']}]"]))
    return sorted(cues + labels, key=lambda c: c.start)


def _ts(t: float, sep: str) -> str:
    ms = int(round(t * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(cues: list[Cue]) -> str:
    return "\n".join(f"{i}\n{_ts(c.start, ',')} --> {_ts(c.end, ',')}\n" + "\n".join(c.lines) + "\n"
                     for i, c in enumerate(cues, 1))


def to_vtt(cues: list[Cue]) -> str:
    body = "\n".join(f"{_ts(c.start, '.')} --> {_ts(c.end, '.')}\n" + "\n".join(c.lines) + "\n" for c in cues)
    return "WEBVTT\n\n" + body


def to_txt(segments: list[dict], speakers: bool = False) -> str:
    lines, last = [], object()
    for s in segments:
        who = s.get("speaker_name") or s.get("speaker")
        if speakers and who != last:
            lines.append(f"\n{who or 'Unknown'}:")
            last = who
        lines.append(s["text"])
    return "\n".join(lines).strip() + "\n"
