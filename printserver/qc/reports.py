"""PDF QC reports (reportlab platypus): one per display QC session, one per printer calibration.

A **display QC report** has the display's identity, who measured with which photometer and the
ambient light, the result per criterion with its limit and where the limit comes from, the plots
(:mod:`printserver.qc.plots`, drawn as vector graphics), the readings, uniformity and visual checks,
and a signature line. A **printer calibration report** has the printer, who and when, the
densities, the curve plot, the LUT summary and a signature line.

Paper is ``[qc] report_page_size`` (A4 or LETTER). Text uses the PDF core fonts (Helvetica; Greek
and mathematical signs through reportlab's Symbol font), so nothing is embedded or downloaded.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)
from reportlab.platypus.flowables import Flowable

from printserver import __version__
from printserver.errors import ParameterError
from printserver.gsdf.film_calibration import wedge_pvalues
from printserver.qc.plots import kappa_plot, luminance_plot, printer_curve_plot, trend_plot
from printserver.qc.records import Display, HistoryPoint, QCSession

PAGE_SIZES = {"A4": A4, "LETTER": letter}
MARGIN = 16 * mm
PASS_COLOR, FAIL_COLOR, WARN_COLOR = "#1b5e20", "#b71c1c", "#8a5a00"
HEADER_BACKGROUND = colors.HexColor("#e8ecf1")

#: how each display criterion is named and its value shown in a report
CRITERIA: dict[str, tuple[str, Callable[[float], str]]] = {
    "contrast_response": ("contrast response, max |κ| over the 17 intervals",
                          lambda v: f"{100 * v:.1f} %"),
    "min_luminance_ratio": ("luminance ratio LR' = L'max / L'min", lambda v: f"{v:.0f}"),
    "min_lmax_prime": ("maximum luminance L'max", lambda v: f"{v:.1f} cd/m²"),
    "max_ambient_ratio": ("ambient ratio Lamb / Lmin (limit)", lambda v: f"{v:.3f}"),
    "recommended_ambient_ratio": ("ambient ratio Lamb / Lmin (recommended)", lambda v: f"{v:.3f}"),
    "max_uniformity_deviation": ("non-uniformity 200·(Lmax − Lmin)/(Lmax + Lmin)",
                                 lambda v: f"{100 * v:.1f} %"),
    "max_median_deviation": ("deviation from the median (TG270 LUDM)", lambda v: f"{100 * v:.1f} %"),
}
_COMPARISON = {"<=": "≤", ">=": "≥", "<": "<"}


def failure_text(name: str) -> str:
    """A failed criterion as a session's ``failures`` names it (``UN80 max_uniformity_deviation``,
    ``visual TG18-CT``), in words."""
    prefix, _, key = name.rpartition(" ")
    label = CRITERIA.get(key, (key,))[0].split(",")[0]
    return f"{prefix} {label}".strip() if prefix != "visual" else f"visual check {key}"


def page_size(name: str) -> tuple[float, float]:
    """The paper of ``[qc] report_page_size``: A4 or LETTER (case-insensitive)."""
    try:
        return PAGE_SIZES[str(name).strip().upper()]
    except KeyError:
        raise ParameterError("report_page_size", f"{name!r} is not A4 or LETTER") from None


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=17, spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", parent=base["Normal"], fontSize=11,
                                   alignment=1, spaceAfter=8),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=12, spaceBefore=10,
                             spaceAfter=4),
        "body": ParagraphStyle("body", parent=base["Normal"], fontSize=9, leading=11.5),
        "cell": ParagraphStyle("cell", parent=base["Normal"], fontSize=8, leading=10),
        "small": ParagraphStyle("small", parent=base["Normal"], fontSize=7, leading=8.5,
                                textColor=colors.HexColor("#444444")),
        "result": ParagraphStyle("result", parent=base["Normal"], fontSize=13, leading=16,
                                 alignment=1, spaceAfter=6),
    }


S = _styles()


def _p(text: str, style: str = "cell") -> Paragraph:
    return Paragraph(escape(str(text)), S[style])


def _verdict(passed: bool | None, kind: str = "limit") -> Paragraph:
    """PASS / FAIL / WARNING / not judged, as text and colour."""
    if passed is None:
        return Paragraph("not judged", S["cell"])
    if passed:
        return Paragraph(f'<font color="{PASS_COLOR}"><b>PASS</b></font>', S["cell"])
    if kind == "recommendation":
        return Paragraph(f'<font color="{WARN_COLOR}"><b>WARNING</b></font>', S["cell"])
    return Paragraph(f'<font color="{FAIL_COLOR}"><b>FAIL</b></font>', S["cell"])


def _table(rows: list[list[Any]], widths: Sequence[float], header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style = [("FONT", (0, 0), (-1, -1), "Helvetica", 8),
             ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
             ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND),
                  ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8)]
    table.setStyle(TableStyle(style))
    return table


def _pairs(items: Sequence[tuple[str, str]], width: float) -> Table:
    """Label / value pairs in two columns of pairs."""
    half = (len(items) + 1) // 2
    left, right = list(items[:half]), list(items[half:])
    right += [("", "")] * (half - len(right))
    rows = [[_p(a), _p(b), _p(c), _p(d)] for (a, b), (c, d) in zip(left, right)]
    w = width / 2
    table = _table(rows, [0.38 * w, 0.62 * w, 0.38 * w, 0.62 * w], header=False)
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (0, -1), HEADER_BACKGROUND),
                               ("BACKGROUND", (2, 0), (2, -1), HEADER_BACKGROUND)]))
    return table


def _local(stamp: str) -> str:
    """An ISO 8601 UTC stamp in the server's local time, to the minute."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
    except ValueError:
        return stamp


def _signature(who: str, width: float, role: str = "Measured by") -> Table:
    line = "_" * 34
    rows = [[_p(f"{role}: {who}", "body"), _p(f"Signature: {line}", "body"),
             _p("Date: ______________", "body")],
            [_p("Reviewed by (physicist): ____________________", "body"),
             _p(f"Signature: {line}", "body"), _p("Date: ______________", "body")]]
    table = Table(rows, colWidths=[0.36 * width, 0.42 * width, 0.22 * width], hAlign="LEFT")
    table.setStyle(TableStyle([("TOPPADDING", (0, 0), (-1, -1), 12)]))
    return table


def _document(buffer: io.BytesIO, size: str, title: str, author: str, subject: str,
              footer: str) -> tuple[SimpleDocTemplate, Callable[..., None]]:
    paper = page_size(size)
    doc = SimpleDocTemplate(buffer, pagesize=paper, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm, title=title,
                            author=author, subject=subject, creator=f"printserver {__version__}")

    def on_page(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(MARGIN, MARGIN - 2 * mm, f"printserver {__version__} · {footer}")
        canvas.drawRightString(paper[0] - MARGIN, MARGIN - 2 * mm, f"page {document.page}")
        canvas.restoreState()

    return doc, on_page


def _finish(doc: SimpleDocTemplate, on_page: Callable[..., None], buffer: io.BytesIO,
            story: list[Flowable], notes: str, who: str) -> bytes:
    """Add the notes and the signature block, build the document, return the PDF."""
    if notes:
        story += [Paragraph("Notes", S["h2"]), _p(notes, "body")]
    story += [Spacer(1, 10), KeepTogether([Paragraph("Signatures", S["h2"]),
                                           _signature(who, doc.width)])]
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _plot(drawing: Flowable, width: float) -> Flowable:
    """A plot scaled to the text width (vector: a reportlab Drawing is a flowable)."""
    scale = min(1.0, width / drawing.width)
    drawing.scale(scale, scale)
    drawing.width, drawing.height = drawing.width * scale, drawing.height * scale
    return drawing


# -- display QC --------------------------------------------------------------------------------

def _criteria_rows(session: QCSession) -> list[list[Any]]:
    results = session.results
    rows: list[list[Any]] = [["Criterion", "Measured", "Limit", "Result", "Source of the limit"]]

    def add(prefix: str, check: Mapping[str, Any]) -> None:
        label, fmt = CRITERIA.get(check["name"], (check["name"], lambda v: f"{v:.4g}"))
        value = "—" if check["value"] is None else fmt(float(check["value"]))
        limit = ("off" if check["limit"] is None else
                 f"{_COMPARISON.get(check['comparison'], check['comparison'])} "
                 f"{fmt(float(check['limit']))}")
        source = f"{check.get('source', '')} [{check.get('status', '')}]" if check.get("source") else ""
        rows.append([_p(prefix + label), _p(value), _p(limit),
                     _verdict(check["passed"], check.get("kind", "limit")), _p(source, "small")])

    for check in session.evaluation["checks"]:
        add("", check)
    for level, uniformity in results.get("uniformity", {}).items():
        for check in uniformity["checks"]:
            add(f"{level}: ", check)
    for name, visual in results.get("visual", {}).items():
        rows.append([_p(f"visual check {name}"), _p(visual.get("comment") or "—"), _p("all visible"),
                     _verdict(visual.get("passed")), _p("AAPM TG18 visual evaluation", "small")])
    return rows


def session_report(display: Display, session: QCSession, history: Sequence[HistoryPoint] = (),
                   page_size_name: str = "A4") -> bytes:
    """The PDF QC report of a display session (module docstring); ``history`` (the display's
    sessions, oldest first) adds the trend plot."""
    buffer = io.BytesIO()
    doc, on_page = _document(buffer, page_size_name, f"Display QC report: {display.name}",
                             session.measured_by, f"QC session {session.session_id} of "
                             f"{session.measured_at}",
                             f"display QC report · {display.name} · session {session.session_id}")
    width = doc.width
    ev = session.evaluation
    results = session.results
    verdict = (f'<font color="{PASS_COLOR}"><b>PASS</b></font>' if session.passed else
               f'<font color="{FAIL_COLOR}"><b>FAIL</b></font>: '
               + escape("; ".join(failure_text(f) for f in results.get("failures", []))))
    targets = results.get("targets", {})

    def target(key: str, unit: str) -> str:
        t = targets.get(key) or {}
        if t.get("target") is None:
            return "—"
        return f"{t['target']:g}{unit} (measured {100 * t['deviation']:+.1f} %)"

    story: list[Flowable] = [
        Paragraph("Display QC report", S["title"]),
        Paragraph(escape(f"{display.name} · luminance response, uniformity and visual checks "
                         f"(AAPM TG18 / Report 270, DICOM PS3.14 GSDF)"), S["subtitle"]),
        Paragraph(f"Result: {verdict}", S["result"]),
        _pairs([("Display", display.name), ("Workstation", display.workstation or "—"),
                ("Location", display.location or "—"),
                ("Class", f"{session.display_class} (limits of this class"
                          f"{', with overrides' if display.limits else ''})"),
                ("Target L'max", target("lmax_prime", " cd/m²")),
                ("Target LR'", target("luminance_ratio", "")),
                ("Measured at", _local(session.measured_at)), ("Measured by", session.measured_by),
                ("Photometer", f"{session.photometer_model or '—'}"
                               f"{', serial ' + session.photometer_serial if session.photometer_serial else ''}"),
                ("Ambient Lamb", f"{session.ambient:g} cd/m²"),
                ("Level set", session.level_set),
                ("Session", f"{session.session_id}, recorded {_local(session.recorded_at)}")], width),
        Paragraph("Results per criterion", S["h2"]),
        _table(_criteria_rows(session), [0.30 * width, 0.13 * width, 0.12 * width,
                                         0.11 * width, 0.34 * width]),
        Spacer(1, 4),
        Paragraph(escape(
            f"L'min {ev['lmin_prime']:.3g} cd/m², L'max {ev['lmax_prime']:.4g} cd/m², "
            f"LR' {ev['luminance_ratio']:.0f}, total JNDs {ev['total_jnd']:.1f}, "
            f"{ev['jnd_per_gray_level']:.3f} JND per gray level; largest |κ| "
            f"{100 * ev['max_abs_kappa']:.1f} % between DDL {ev['worst_interval']['from_ddl']} and "
            f"{ev['worst_interval']['to_ddl']}. κ = (dL/L measured) / (dL/L GSDF) − 1 per "
            f"interval, the pacsDisplay / TG18 method."), S["body"]),
    ]
    for warning in ev.get("warnings", []):
        story.append(Paragraph(f'<font color="{WARN_COLOR}">Warning: {escape(warning)}</font>',
                               S["body"]))
    story += [KeepTogether([Paragraph("Luminance response", S["h2"]),
                            _plot(luminance_plot(ev, f"Luminance response: {display.name}"), width)]),
              KeepTogether([_plot(kappa_plot(ev, f"Contrast response: {display.name}"), width)])]
    if history:
        limits = results.get("limits", {})
        story.append(KeepTogether([Paragraph("History", S["h2"]), _plot(trend_plot(
            history, f"L'max and LR' over time: {display.name}", display.target_lmax,
            display.target_luminance_ratio, limits), width)]))
    rows: list[list[Any]] = [["DDL", "L (cd/m²)", "L' = L + Lamb", "GSDF target L'",
                              "κ of the step to it", "JND index"]]
    kappas = [None] + list(ev["kappa"])
    for level, kappa in zip(ev["levels"], kappas):
        rows.append([str(level["ddl"]), f"{level['luminance']:.4g}",
                     f"{level['luminance_prime']:.4g}", f"{level['target_luminance']:.4g}",
                     "—" if kappa is None else f"{100 * kappa:+.1f} %", f"{level['jnd']:.1f}"])
    story += [Paragraph("Readings", S["h2"]), _table(rows, [width / 6] * 6)]
    if results.get("uniformity"):
        story.append(Paragraph("Uniformity", S["h2"]))
        for level, u in results["uniformity"].items():
            urows: list[list[Any]] = [["Location", "L (cd/m²)", "L' (cd/m²)"]]
            urows += [[p["location"], f"{p['luminance']:.4g}", f"{p['luminance_prime']:.4g}"]
                      for p in u["points"]]
            story += [Paragraph(escape(
                f"{level}: maximum deviation {100 * u['max_deviation']:.1f} %, deviation from the "
                f"median {100 * u['median_deviation']:.1f} %"), S["body"]),
                _table(urows, [width / 4] * 3), Spacer(1, 4)]
    return _finish(doc, on_page, buffer, story, session.notes, session.measured_by)


# -- printer calibration -----------------------------------------------------------------------

def calibration_report(view: Any, printer_name: str = "", page_size_name: str = "A4",
                       warning: str = "") -> bytes:
    """The PDF report of a printer calibration (a
    :class:`printserver.qc.printer_calibration.CalibrationView`); ``warning`` (e.g.
    :func:`~printserver.qc.printer_calibration.film_density_check`) is printed under the summary."""
    record, analysis = view.record, view.analysis
    buffer = io.BytesIO()
    doc, on_page = _document(buffer, page_size_name,
                             f"Printer calibration report: {record.printer} version {record.version}",
                             record.created_by, f"calibration {record.version} of {record.created_at}",
                             f"printer calibration report · {record.printer} · version "
                             f"{record.version}")
    width = doc.width
    story: list[Flowable] = [
        Paragraph("Printer calibration report", S["title"]),
        Paragraph(escape(f"{record.printer}{' (' + printer_name + ')' if printer_name else ''} · "
                         f"characteristic curve and GSDF calibration (DICOM PS3.14 §7.2)"),
                  S["subtitle"]),
        _pairs([("Printer (AE title)", record.printer), ("Printer name", printer_name or "—"),
                ("Version", str(record.version)), ("Recorded at", _local(record.created_at)),
                ("Measured by", record.created_by),
                ("Step wedge", record.wedge_id or "— (readings entered without a wedge)"),
                ("Light box L0", f"{record.illumination:g} cd/m²"),
                ("Ambient La", f"{record.ambient:g} cd/m²"),
                ("Measured Dmin", f"{record.dmin:.2f} OD"), ("Measured Dmax", f"{record.dmax:.2f} OD"),
                ("LUT", f"{len(record.lut)} input levels → drive levels 0 … {record.max_ddl}"),
                ("Largest LUT error", f"{analysis.max_od_error:.3f} OD")], width),
        Spacer(1, 6),
        *([Paragraph(f'<font color="{WARN_COLOR}">Warning: {escape(warning)}</font>', S["body"]),
           Spacer(1, 4)] if warning else []),
        _plot(printer_curve_plot(analysis, f"Characteristic curve: {record.printer} version "
                                           f"{record.version}"), width),
    ]
    rows: list[list[Any]] = [["Step", "P-value (8 bits)", "Drive level sent", "Density (OD)"]]
    rows += [[str(s), str(p), str(d), f"{od:.2f}"] for s, p, d, od in zip(
        analysis.readings.steps, wedge_pvalues(8), analysis.readings.ddl, analysis.readings.density)]
    lut_rows: list[list[Any]] = [["Input P-value", "Drive level", "Target OD", "Predicted OD",
                                  "Difference"]]
    lut_rows += [[str(r["input"]), str(r["ddl"]), f"{r['target_od']:.3f}",
                  f"{r['predicted_od']:.3f}", f"{r['predicted_od'] - r['target_od']:+.3f}"]
                 for r in view.lut_table()]
    story += [Paragraph("Densitometer readings of the uncalibrated step wedge", S["h2"]),
              _table(rows, [width / 4] * 4),
              Paragraph("Calibration LUT (every 15th input level)", S["h2"]),
              _table(lut_rows, [width / 5] * 5)]
    return _finish(doc, on_page, buffer, story, record.notes, record.created_by)
