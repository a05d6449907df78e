"""Renderings of a compliance report: a self-contained HTML page and a PDF (ReportLab) for sign-off.

Both show the verdict per check, a timeline of the findings, the loudness graph against the
policy's target, the findings with their evidence (nudity thumbnails arrive blurred), and a
sign-off block. The JSON report (compliance/evaluate.py) is the source; these only lay it out.
"""

from __future__ import annotations

import base64
import html as _html
import io

COLOURS = {"violation": "#c62828", "warning": "#ef6c00", "info": "#1565c0"}
VERDICT_COLOURS = {"pass": "#2e7d32", "warn": "#ef6c00", "fail": "#c62828", "incomplete": "#757575",
                   "not_measured": "#757575"}


def _e(x) -> str:
    return "—" if x is None else _html.escape(str(x), quote=True)


def _t(s: float) -> str:
    s = max(0.0, float(s))
    if s >= 3600:
        return f"{int(s // 3600):d}:{int(s // 60 % 60):02d}:{s % 60:06.3f}"
    return f"{int(s // 60):d}:{s % 60:06.3f}"


def _duration(rep: dict) -> float:
    d = float((rep.get("video") or {}).get("duration_s") or 0.0)
    return max([d, 1.0] + [f["end_s"] for f in rep["findings"]])


def timeline_svg(rep: dict, width: int = 900) -> str:
    dur, lanes = _duration(rep), sorted({f["check"] for f in rep["findings"]})
    height = 20 + 14 * max(1, len(lanes))
    lane_h = max(8, (height - 20) // max(1, len(lanes)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Timeline of findings"><rect width="{width}" height="{height}" fill="#fafafa"/>']
    for f in rep["findings"]:
        x = f["start_s"] / dur * width
        w = max(3.0, (f["end_s"] - f["start_s"]) / dur * width)
        y = 4 + lanes.index(f["check"]) * lane_h
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{lane_h - 2}" fill="{COLOURS[f["severity"]]}">'
                     f'<title>{_e(f["check"])} {_t(f["start_s"])}: {_e(f["message"])}</title></rect>')
    for i, lane in enumerate(lanes):  # after the bars: the check's name stays readable on its lane
        parts.append(f'<text x="3" y="{4 + i * lane_h + lane_h - 4}" font-size="9" fill="#111" '
                     f'stroke="#fff" stroke-width="2" paint-order="stroke">{_e(lane)}</text>')
    for i in range(0, 11):
        x = i * width / 10
        parts.append(f'<text x="{min(x, width - 40):.0f}" y="{height - 2}" font-size="10" fill="#555">'
                     f'{_t(dur * i / 10)[:-4]}</text>')
    return "".join(parts) + "</svg>"


def loudness_svg(rep: dict, width: int = 900, height: int = 180) -> str:
    ld = rep.get("loudness")
    if not ld or not ld["series"]["t"]:
        return "<p>No audio measured.</p>"
    s = ld["series"]
    dur = max(s["t"][-1], 0.1)
    target = next((c["measured"].get("target_lufs") for c in rep["checks"] if c["check"] == "loudness"), None)

    def y(v: float) -> float:  # -70 .. 0 LUFS
        return height - 15 - (max(-70.0, min(0.0, v)) + 70) / 70 * (height - 25)

    def line(values, colour):
        step = max(1, len(values) // 1500)
        pts = " ".join(f"{t / dur * width:.1f},{y(v):.1f}" for t, v in list(zip(s["t"], values))[::step])
        return f'<polyline fill="none" stroke="{colour}" stroke-width="1" points="{pts}"/>'

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Loudness over time"><rect width="{width}" height="{height}" fill="#fafafa"/>']
    for level in (-60, -40, -23, -14):
        parts.append(f'<line x1="0" x2="{width}" y1="{y(level):.1f}" y2="{y(level):.1f}" stroke="#ddd"/>'
                     f'<text x="2" y="{y(level) - 2:.1f}" font-size="9" fill="#777">{level} LUFS</text>')
    if target is not None:
        parts.append(f'<line x1="0" x2="{width}" y1="{y(target):.1f}" y2="{y(target):.1f}" stroke="#2e7d32" '
                     f'stroke-dasharray="6 3"/>')
    parts += [line(s["momentary"], "#90caf9"), line(s["short_term"], "#0d47a1")]
    return "".join(parts) + "</svg>"


def html(rep: dict) -> str:
    """A self-contained page: no scripts, no external resources (thumbnails inlined)."""
    v, pol = rep.get("video") or {}, rep["policy"]
    ld = rep.get("loudness") or {}
    rows = "".join(
        f'<tr><td>{_e(c["check"])}</td><td style="color:{VERDICT_COLOURS.get(c["verdict"], "#000")}">'
        f'<b>{_e(c["verdict"])}</b></td><td>{_e(c["severity"])}</td><td>{c["findings"]}</td>'
        f'<td><small>{_e(", ".join(f"{k}={x}" for k, x in c["measured"].items() if x is not None))}</small></td></tr>'
        for c in rep["checks"])
    finding_rows = []
    for f in rep["findings"]:
        img = ""
        if f.get("thumbnail_bytes"):
            img = f'<img alt="evidence (blurred)" width="120" src="data:image/jpeg;base64,' \
                  f'{base64.b64encode(f["thumbnail_bytes"]).decode()}"/>'
        ev = ", ".join(f"{k}: {x}" for k, x in f["evidence"].items() if k not in ("thumbnail", "thumbnail_url"))
        finding_rows.append(
            f'<tr id="finding-{f["id"]}"><td>{_t(f["start_s"])}–{_t(f["end_s"])}</td><td>{_e(f["check"])}</td>'
            f'<td style="color:{COLOURS[f["severity"]]}">{_e(f["severity"])}</td><td>{_e(f["message"])}'
            f'<br><small>{_e(ev)}</small></td><td>{_e(f["suggestion"])}</td><td>{img}</td></tr>')
    verdict = rep["verdict"]
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Compliance report: {_e(rep.get("title", ""))}</title>
<style>body{{font:14px system-ui,sans-serif;margin:24px;color:#222}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}}
.verdict{{font-size:22px;font-weight:bold;color:{VERDICT_COLOURS.get(verdict, "#000")}}}
.sign td{{height:36px}}</style></head><body>
<h1>Compliance report</h1>
<p><b>{_e(rep.get("title", ""))}</b> · video {_e(rep.get("video_id", ""))}<br>
Policy <b>{_e(pol.get("name"))}</b> version {_e(pol.get("version"))}{" (preset)" if pol.get("builtin") else ""}
· measured {_e(rep.get("measured_at") or "")}<br>
Duration {float(v.get("duration_s") or 0):.1f} s · {_e(v.get("width"))}×{_e(v.get("height"))} @ {_e(v.get("fps"))} fps
· {_e(v.get("video_codec"))}/{_e(v.get("audio_codec"))}</p>
<p class="verdict">Verdict: {_e(verdict.upper())}</p>
<p>{rep["counts"]["violation"]} violation(s), {rep["counts"]["warning"]} warning(s), {rep["counts"]["info"]} note(s).
Integrated loudness {_e(ld.get("integrated_lufs"))} LUFS, loudness range {_e(ld.get("lra_lu"))} LU,
true peak {_e(ld.get("true_peak_dbtp"))} dBTP.</p>
<h2>Checks</h2><table><tr><th>Check</th><th>Verdict</th><th>Severity</th><th>Findings</th><th>Measured</th></tr>{rows}</table>
<h2>Timeline</h2>{timeline_svg(rep)}
<h2>Loudness</h2>{loudness_svg(rep)}<p><small>Light: momentary (400 ms); dark: short-term (3 s);
dashed: the policy's target.</small></p>
<h2>Findings</h2><table><tr><th>Time</th><th>Check</th><th>Severity</th><th>Finding</th><th>Suggestion</th><th>Evidence</th></tr>
{"".join(finding_rows) or '<tr><td colspan="6">No findings.</td></tr>'}</table>
<h2>Sign-off</h2><table class="sign"><tr><th>Reviewer</th><th>Decision</th><th>Date</th><th>Signature</th></tr>
<tr><td></td><td></td><td></td><td></td></tr></table></body></html>"""


def pdf(rep: dict) -> bytes:
    from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    width = A4[0] - 30 * mm
    v, pol, ld = rep.get("video") or {}, rep["policy"], rep.get("loudness") or {}
    story = [Paragraph("Compliance report", styles["Title"]),
             Paragraph(f"<b>{_e(rep.get('title', ''))}</b> &middot; video {_e(rep.get('video_id', ''))}", small),
             Paragraph(f"Policy <b>{_e(pol.get('name'))}</b> version {_e(pol.get('version'))}"
                       f"{' (preset)' if pol.get('builtin') else ''} &middot; "
                       f"measured {_e(rep.get('measured_at') or '')}",
                       small),
             Paragraph(f"Duration {float(v.get('duration_s') or 0):.1f} s &middot; "
                       f"{_e(v.get('width'))}x{_e(v.get('height'))}"
                       f" @ {_e(v.get('fps'))} fps &middot; integrated {_e(ld.get('integrated_lufs'))} LUFS, "
                       f"LRA {_e(ld.get('lra_lu'))} LU, true peak {_e(ld.get('true_peak_dbtp'))} dBTP", small),
             Spacer(1, 4 * mm),
             Paragraph(f'<font color="{VERDICT_COLOURS.get(rep["verdict"], "#000")}" size="18"><b>Verdict: '
                       f'{rep["verdict"].upper()}</b></font>', styles["BodyText"]),
             Spacer(1, 2 * mm),
             Paragraph(f'{rep["counts"]["violation"]} violation(s), {rep["counts"]["warning"]} warning(s), '
                       f'{rep["counts"]["info"]} note(s)', styles["BodyText"]), Spacer(1, 4 * mm)]
    checks = [["Check", "Verdict", "Severity", "Findings"]] + [
        [c["check"], c["verdict"], c["severity"], str(c["findings"])] for c in rep["checks"]]
    t = Table(checks, colWidths=[width * 0.4, width * 0.2, width * 0.2, width * 0.2])
    style = [("FONTSIZE", (0, 0), (-1, -1), 8), ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
             ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold")]
    for i, c in enumerate(rep["checks"], start=1):
        style.append(("TEXTCOLOR", (1, i), (1, i), colors.HexColor(VERDICT_COLOURS.get(c["verdict"], "#000000"))))
    t.setStyle(TableStyle(style))
    story += [Paragraph("Checks", styles["Heading2"]), t, Paragraph("Timeline of findings", styles["Heading2"])]
    dur = _duration(rep)
    lanes = sorted({f["check"] for f in rep["findings"]})
    tl = Drawing(width, 12 * max(1, len(lanes)) + 14)
    tl.add(Rect(0, 12, width, 12 * max(1, len(lanes)), fillColor=colors.HexColor("#fafafa"), strokeColor=None))
    for f in rep["findings"]:
        y = 12 + (len(lanes) - 1 - lanes.index(f["check"])) * 12
        x = f["start_s"] / dur * width
        tl.add(Rect(x, y + 1, max(2, (f["end_s"] - f["start_s"]) / dur * width), 10,
                    fillColor=colors.HexColor(COLOURS[f["severity"]]), strokeColor=None))
    for i, lane in enumerate(lanes):
        tl.add(String(2, 12 + (len(lanes) - 1 - i) * 12 + 3, lane, fontSize=6, fillColor=colors.black))
    for i in range(11):
        tl.add(String(min(i * width / 10, width - 30), 2, _t(dur * i / 10)[:-4], fontSize=6))
    story.append(tl)
    series = (rep.get("loudness") or {}).get("series") or {}
    if series.get("t"):
        story.append(Paragraph("Loudness (momentary light, short-term dark, target dashed)", styles["Heading2"]))
        h, sdur = 120.0, max(series["t"][-1], 0.1)
        g = Drawing(width, h + 10)

        def yy(val: float) -> float:
            return 10 + (max(-70.0, min(0.0, val)) + 70) / 70 * h

        for level in (-60, -40, -23, -14):
            g.add(Line(0, yy(level), width, yy(level), strokeColor=colors.lightgrey, strokeWidth=0.3))
            g.add(String(2, yy(level) + 1, f"{level} LUFS", fontSize=6, fillColor=colors.grey))
        step = max(1, len(series["t"]) // 800)
        for key, colour in (("momentary", "#90caf9"), ("short_term", "#0d47a1")):
            pts = []
            for tt, val in list(zip(series["t"], series[key]))[::step]:
                pts += [tt / sdur * width, yy(val)]
            g.add(PolyLine(pts, strokeColor=colors.HexColor(colour), strokeWidth=0.6))
        target = next((c["measured"].get("target_lufs") for c in rep["checks"] if c["check"] == "loudness"), None)
        if target is not None:
            g.add(Line(0, yy(target), width, yy(target), strokeColor=colors.HexColor("#2e7d32"),
                       strokeDashArray=[4, 2], strokeWidth=0.8))
        story.append(g)
    story.append(Paragraph("Findings", styles["Heading2"]))
    rows = [["Time", "Check", "Severity", "Finding", "Evidence"]]
    for f in rep["findings"]:
        img = ""
        if f.get("thumbnail_bytes"):
            img = Image(io.BytesIO(f["thumbnail_bytes"]), width=30 * mm, height=17 * mm, kind="proportional")
        rows.append([Paragraph(f"{_t(f['start_s'])}<br/>{_t(f['end_s'])}", small), f["check"], f["severity"],
                     Paragraph(f"{_e(f['message'])}<br/><i>{_e(f['suggestion'])}</i>", small), img])
    if len(rows) == 1:
        rows.append(["", "", "", Paragraph("No findings.", small), ""])
    ft = Table(rows, colWidths=[width * 0.14, width * 0.14, width * 0.1, width * 0.44, width * 0.18], repeatRows=1)
    fstyle = [("FONTSIZE", (0, 0), (-1, -1), 7), ("VALIGN", (0, 0), (-1, -1), "TOP"),
              ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey), ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold")]
    for i, f in enumerate(rep["findings"], start=1):
        fstyle.append(("TEXTCOLOR", (2, i), (2, i), colors.HexColor(COLOURS[f["severity"]])))
    ft.setStyle(TableStyle(fstyle))
    story += [ft, Spacer(1, 8 * mm), Paragraph("Sign-off", styles["Heading2"])]
    sign = Table([["Reviewer", "Decision", "Date", "Signature"], ["", "", "", ""]],
                 colWidths=[width / 4] * 4, rowHeights=[14, 28])
    sign.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("FONTSIZE", (0, 0), (-1, -1), 8)]))
    story.append(sign)
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                      bottomMargin=15 * mm, title="Compliance report", author="clipdex").build(story)
    return buf.getvalue()
