"""The QC plots, drawn once with reportlab's graphics: the same :class:`Drawing` goes to SVG for a
page (:mod:`printserver.qc.svg`) and, as vector graphics, into the PDF reports.

* :func:`luminance_plot`: measured ``L'`` against the GSDF target per DDL, log luminance scale;
* :func:`kappa_plot`: κ per interval with the ±10 % and ±20 % bands (TG18 primary / secondary);
* :func:`trend_plot`: ``L'max`` and ``LR'`` of a display over time, with targets and limits;
* :func:`printer_curve_plot`: a printer's density against its drive level (uncalibrated), the
  GSDF target density per P-value and the density the calibration gives.

Every plot has a title, axis labels with units and a legend; text is text. Inputs are the plain
values the records hold (``DisplayEvaluation.as_dict()``, history points), so a page needs no
computation of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportlab.graphics.charts.axes import LogYValueAxis
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Group, Line, Rect, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors

from printserver.gsdf.film_calibration import PrinterCalibration

WIDTH, HEIGHT = 480, 300
FONT, BOLD = "Helvetica", "Helvetica-Bold"
#: colours: measured (blue), target (near black), calibrated (green), limits (red), bands
MEASURED = colors.HexColor("#1f5fa8")
TARGET = colors.HexColor("#333333")
CALIBRATED = colors.HexColor("#2e7d32")
LIMIT = colors.HexColor("#c62828")
BAND_10 = colors.HexColor("#dcefdc")
BAND_20 = colors.HexColor("#fbeed5")
GRID = colors.HexColor("#dddddd")


@dataclass(frozen=True)
class Series:
    """One line of a plot and its legend entry."""

    label: str
    points: Sequence[tuple[float, float]]
    color: Any
    dash: tuple[float, ...] | None = None
    marker: str | None = None
    width: float = 1.5


@dataclass(frozen=True)
class Frame:
    """Where the plot area of a drawing is (points)."""

    x: float = 64
    y: float = 48
    width: float = 396
    height: float = 196


def _drawing(title: str, x_label: str, y_label: str, frame: Frame, height: float = HEIGHT
             ) -> Drawing:
    d = Drawing(WIDTH, height)
    d.add(String(WIDTH / 2, height - 16, title, fontName=BOLD, fontSize=11, textAnchor="middle"))
    d.add(String(frame.x + frame.width / 2, 10, x_label, fontName=FONT, fontSize=9,
                 textAnchor="middle"))
    _y_label(d, frame, y_label)
    return d


def _y_label(d: Drawing, frame: Frame, text: str) -> None:
    label = Group(String(0, 0, text, fontName=FONT, fontSize=9, textAnchor="middle"))
    label.translate(14, frame.y + frame.height / 2)
    label.rotate(90)
    d.add(label)


def _legend(d: Drawing, entries: Sequence[Series], y: float) -> None:
    """A row of legend entries (line, marker, label) under the title."""
    x = 64.0
    for s in entries:
        d.add(Line(x, y + 3, x + 18, y + 3, strokeColor=s.color, strokeWidth=s.width,
                   strokeDashArray=s.dash))
        if s.marker:
            marker = makeMarker(s.marker, x=x + 9, y=y + 3, size=4, fillColor=s.color,
                                strokeColor=s.color)
            d.add(marker)
        d.add(String(x + 22, y, s.label, fontName=FONT, fontSize=8))
        x += 30 + 4.3 * len(s.label)


def _band_legend(d: Drawing, x: float, y: float, color: Any, label: str) -> float:
    d.add(Rect(x, y - 1, 14, 8, fillColor=color, strokeColor=None))
    d.add(String(x + 18, y, label, fontName=FONT, fontSize=8))
    return x + 26 + 4.3 * len(label)


def _plot(frame: Frame, series: Sequence[Series], x_range: tuple[float, float, float],
          y_range: tuple[float, float, float] | None, x_format: Callable[[float], str] | str = "%g",
          y_format: Callable[[float], str] | str = "%g", log_y: bool = False,
          x_steps: Sequence[float] | None = None) -> LinePlot:
    lp = LinePlot()
    lp.x, lp.y, lp.width, lp.height = frame.x, frame.y, frame.width, frame.height
    if log_y:
        lp.yValueAxis = LogYValueAxis()
    lp.data = [list(s.points) for s in series]
    for i, s in enumerate(series):
        lp.lines[i].strokeColor = s.color
        lp.lines[i].strokeWidth = s.width
        if s.dash:
            lp.lines[i].strokeDashArray = s.dash
        if s.marker:
            lp.lines[i].symbol = makeMarker(s.marker, size=4, fillColor=s.color,
                                            strokeColor=s.color)
    xmin, xmax, xstep = x_range
    lp.xValueAxis.valueMin, lp.xValueAxis.valueMax = xmin, xmax
    lp.xValueAxis.valueSteps = list(x_steps) if x_steps is not None else _steps(xmin, xmax, xstep)
    lp.xValueAxis.labelTextFormat = x_format
    lp.xValueAxis.labels.fontName, lp.xValueAxis.labels.fontSize = FONT, 8
    lp.xValueAxis.visibleGrid, lp.xValueAxis.gridStrokeColor = True, GRID
    if y_range is not None:
        ymin, ymax, ystep = y_range
        lp.yValueAxis.valueMin, lp.yValueAxis.valueMax = ymin, ymax
        lp.yValueAxis.valueSteps = (_log_steps(ymin, ymax) if log_y
                                    else _steps(ymin, ymax, ystep))
    lp.yValueAxis.labelTextFormat = y_format
    lp.yValueAxis.labels.fontName, lp.yValueAxis.labels.fontSize = FONT, 8
    lp.yValueAxis.visibleGrid, lp.yValueAxis.gridStrokeColor = True, GRID
    return lp


def _steps(low: float, high: float, step: float) -> list[float]:
    count = int(math.floor((high - low) / step + 1e-9))
    return [low + i * step for i in range(count + 1)]


def _log_steps(low: float, high: float) -> list[float]:
    return [10.0 ** k for k in range(int(math.floor(math.log10(low))),
                                     int(math.ceil(math.log10(high))) + 1)
            if low <= 10.0 ** k <= high]


def _nice_step(span: float, ticks: int = 6) -> float:
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


# -- display plots -----------------------------------------------------------------------------

def luminance_plot(evaluation: Mapping[str, Any], title: str = "Luminance response") -> Drawing:
    """Measured ``L' = L + Lamb`` and the GSDF target per DDL, luminance on a log scale.

    ``evaluation`` is :meth:`DisplayEvaluation.as_dict` (its ``levels``).
    """
    levels = evaluation["levels"]
    measured = [(float(v["ddl"]), float(v["luminance_prime"])) for v in levels]
    target = [(float(v["ddl"]), float(v["target_luminance"])) for v in levels]
    series = [Series("GSDF target", target, TARGET, dash=(4, 2), width=1.2),
              Series("measured L' = L + Lamb", measured, MEASURED, marker="FilledCircle")]
    values = [y for _, y in measured + target]
    low = 10.0 ** math.floor(math.log10(min(values)))
    high = 10.0 ** math.ceil(math.log10(max(values)))
    top = float(levels[-1]["ddl"])
    frame = Frame()
    d = _drawing(title, f"DDL (gray level, {evaluation.get('level_set', '')})",
                 "luminance L' (cd/m², log scale)", frame)
    d.add(_plot(frame, series, (0.0, top, 15.0 if top <= 255 else 240.0), (low, high, 0),
                "%d", _luminance_label, log_y=True))
    _legend(d, series, HEIGHT - 34)
    return d


def _luminance_label(value: float) -> str:
    return f"{value:g}" if value >= 0.1 else f"{value:.2g}"


def kappa_plot(evaluation: Mapping[str, Any], title: str = "Contrast response") -> Drawing:
    """κ per interval in percent with the ±10 % (primary) and ±20 % (secondary) bands and the
    display's own limit as a red dashed line. ``evaluation`` as :func:`luminance_plot`."""
    intervals = evaluation["intervals"]
    points = [(float(k + 1), 100.0 * float(v["kappa"])) for k, v in enumerate(intervals)]
    limit = (evaluation.get("limits") or {}).get("contrast_response")
    largest = max([abs(y) for _, y in points] + [20.0, 100.0 * (limit or 0)])
    span = 5.0 * math.ceil((largest + 5.0) / 5.0)
    frame = Frame()
    d = _drawing(title, "interval k (between the levels k − 1 and k)",
                 "κ = dL/L measured ÷ dL/L GSDF − 1 (%)", frame)
    scale = frame.height / (2 * span)

    def y_of(v: float) -> float:
        return frame.y + (min(max(v, -span), span) + span) * scale

    for band, color in ((20.0, BAND_20), (10.0, BAND_10)):
        d.add(Rect(frame.x, y_of(-band), frame.width, y_of(band) - y_of(-band), fillColor=color,
                   strokeColor=None))
    count = len(points)
    series = [Series("κ measured", points, MEASURED, marker="FilledCircle")]
    if limit is not None:
        lim = 100.0 * float(limit)
        series += [Series(f"limit ±{lim:g} % ({evaluation.get('display_class', '')})",
                          [(0.5, lim), (count + 0.5, lim)], LIMIT, dash=(3, 2), width=1),
                   Series("", [(0.5, -lim), (count + 0.5, -lim)], LIMIT, dash=(3, 2), width=1)]
    d.add(_plot(frame, series, (0.5, count + 0.5, 1.0), (-span, span, _nice_step(2 * span, 8)),
                "%d", lambda v: f"{v:+.0f}" if v else "0",
                x_steps=[float(k) for k in range(1, count + 1)]))
    _legend(d, [s for s in series if s.label], HEIGHT - 34)
    x = _band_legend(d, 300, HEIGHT - 34, BAND_10, "±10 % primary")
    _band_legend(d, x, HEIGHT - 34, BAND_20, "±20 % secondary")
    return d


def _day(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp() / 86400.0


def trend_plot(history: Sequence[Any], title: str = "L'max and LR' over time",
               target_lmax: float | None = None, target_ratio: float | None = None,
               limits: Mapping[str, Any] | None = None) -> Drawing:
    """``L'max`` (top) and ``LR'`` (bottom) of a display's sessions over time.

    ``history`` holds objects with ``measured_at``, ``lmax_prime`` and ``luminance_ratio``
    (:class:`printserver.qc.records.HistoryPoint`); targets and limits (``min_lmax_prime``,
    ``min_luminance_ratio``) are drawn as dashed lines when given.
    """
    height = 420.0
    limits = limits or {}
    days = [_day(p.measured_at) for p in history]
    if days:
        first, last = min(days), max(days)
    else:
        first = last = datetime.now().timestamp() / 86400.0
    pad = max(1.0, 0.05 * (last - first))
    x_range = (first - pad, last + pad, _nice_step(last - first + 2 * pad, 5))

    def date(value: float) -> str:
        return datetime.fromtimestamp(value * 86400.0).strftime("%Y-%m-%d")

    d = Drawing(WIDTH, height)
    d.add(String(WIDTH / 2, height - 16, title, fontName=BOLD, fontSize=11, textAnchor="middle"))
    d.add(String(64 + 396 / 2, 10, "date of the QC session", fontName=FONT, fontSize=9,
                 textAnchor="middle"))
    panels = (("lmax_prime", "L'max (cd/m²)", target_lmax, limits.get("min_lmax_prime"),
               Frame(64, 236, 396, 140)),
              ("luminance_ratio", "LR' = L'max / L'min", target_ratio,
               limits.get("min_luminance_ratio"), Frame(64, 48, 396, 140)))
    legend: list[Series] = []
    for key, label, target, limit, frame in panels:
        points = [(x, float(getattr(p, key))) for x, p in zip(days, history)]
        series = [Series("measured", points or [(first, 0.0)], MEASURED, marker="FilledCircle")]
        flat = [v for v in (target, limit) if v is not None]
        if target is not None:
            series.append(Series("target", [(x_range[0], target), (x_range[1], target)],
                                 CALIBRATED, dash=(4, 2), width=1))
        if limit is not None:
            series.append(Series("limit", [(x_range[0], limit), (x_range[1], limit)], LIMIT,
                                 dash=(3, 2), width=1))
        values = [y for _, y in points] + flat or [0.0, 1.0]
        low, high = min(values), max(values)
        margin = max(0.1 * (high - low), 0.05 * abs(high) or 1.0)
        step = _nice_step(high - low + 2 * margin, 5)
        y_range = (step * math.floor((low - margin) / step), step * math.ceil((high + margin) / step),
                   step)
        d.add(_plot(frame, series, x_range, (max(0.0, y_range[0]), y_range[1], step), date, "%g"))
        _y_label(d, frame, label)
        legend = series if len(series) > len(legend) else legend
    _legend(d, legend, height - 34)
    return d


# -- printer plot ------------------------------------------------------------------------------

def printer_curve_plot(calibration: PrinterCalibration,
                       title: str = "Printer characteristic curve") -> Drawing:
    """Density against drive level as measured (uncalibrated), the GSDF target density of each
    8-bit P-value between the measured Dmin and Dmax, and the density the calibration LUT gives."""
    r = calibration.readings
    measured = [(float(x), float(y)) for x, y in zip(r.ddl, r.density)]
    every = range(0, calibration.lut.levels, 5)
    target = [(float(i), float(calibration.target_od[i])) for i in every] + [
        (float(calibration.lut.levels - 1), float(calibration.target_od[-1]))]
    predicted = [(float(i), float(calibration.predicted_od[i])) for i in every] + [
        (float(calibration.lut.levels - 1), float(calibration.predicted_od[-1]))]
    series = [Series("measured (uncalibrated): density at drive level", measured, MEASURED,
                     marker="FilledCircle"),
              Series("calibrated", predicted, CALIBRATED, width=2.5),
              Series("GSDF target", target, TARGET, dash=(4, 2), width=1.2)]
    top = 0.5 * math.ceil((calibration.dmax + 0.2) / 0.5)
    frame = Frame()
    d = _drawing(title, "drive level / P-value (8 bits)", "optical density (OD)", frame)
    d.add(_plot(frame, series, (0.0, 255.0, 15.0), (0.0, top, 0.25 if top <= 2.5 else 0.5),
                lambda v: f"{v:.0f}" if round(v) % 45 == 0 or round(v) == 255 else "", "%.2f"))
    _legend(d, series, HEIGHT - 34)
    return d
