"""The QC plots (issue 11, "Plots"): drawn once with reportlab's graphics, as SVG that parses as
XML, is safe to inline or serve (no script, no inline style, no external reference, unique ids)
and readable (title, axis labels with units, legend, text as text), with one marker per value."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from printserver.gsdf.conformance import evaluate_display
from printserver.gsdf.film_calibration import (WEDGE_DRIVE_LEVELS, check_wedge_readings,
                                               printer_calibration)
from printserver.qc.plots import kappa_plot, luminance_plot, printer_curve_plot, trend_plot
from printserver.qc.records import HistoryPoint
from printserver.qc.svg import svg_document, svg_fragment
from test_gsdf_conformance import AMBIENT, P8, PASSES_20

NS = {"svg": "http://www.w3.org/2000/svg"}
EVALUATION = evaluate_display(P8, PASSES_20, AMBIENT).as_dict()
HOSTILE = 'RAD-3 <script>alert("x")</script> & "left"'


def parse(text: str) -> ET.Element:
    root = ET.fromstring(text.encode())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def assert_safe(text: str, root: ET.Element) -> None:
    assert "<script" not in text and "style=" not in text and "<!DOCTYPE" not in text
    assert "foreignObject" not in text and "href" not in text
    for element in root.iter():
        assert not any(name.lower().startswith("on") for name in element.attrib), element.attrib
        for value in element.attrib.values():
            assert "url(" not in value or "url(#" in value


def markers(root: ET.Element) -> int:
    return len(root.findall(".//svg:circle", NS))


def history() -> list[HistoryPoint]:
    return [HistoryPoint(i, f"2026-0{i + 1}-15T10:00:00.000+00:00", 400.0 - 5 * i, 380 - 20 * i,
                         0.05, i < 3) for i in range(5)]


def calibration():
    od = np.round(0.10 + 2.0 * (1 - WEDGE_DRIVE_LEVELS / 255) ** 1.8, 2)
    return printer_calibration(check_wedge_readings(range(1, 19), od), 2000, 10)


@pytest.mark.parametrize("drawing, labels, count", [
    (luminance_plot(EVALUATION, HOSTILE), ["GSDF target", "measured L' = L + Lamb",
                                           "luminance L' (cd/m², log scale)",
                                           "DDL (gray level, TG18-LN8)", "1000", "0.1"], 18),
    (kappa_plot(EVALUATION, HOSTILE), ["κ measured", "limit ±10 % (primary)", "±10 % primary",
                                       "±20 % secondary", "κ = dL/L measured ÷ dL/L GSDF − 1 (%)",
                                       "interval k (between the levels k − 1 and k)", "17"], 17),
    (trend_plot(history(), HOSTILE, 400, 350, {"min_lmax_prime": 170,
                                               "min_luminance_ratio": 250}),
     ["L'max (cd/m²)", "LR' = L'max / L'min", "measured", "target", "limit",
      "date of the QC session"], 10),
    (printer_curve_plot(calibration(), HOSTILE), ["optical density (OD)",
                                                  "drive level / P-value (8 bits)", "GSDF target",
                                                  "calibrated"], 18),
])
def test_plots_are_safe_readable_svg(drawing, labels, count):
    text = svg_document(drawing, HOSTILE, "a QC plot", prefix="p1")
    root = parse(text)
    assert_safe(text, root)
    shown = texts(root)
    assert shown[0] == HOSTILE  # the title is text, escaped by the XML writer, not markup
    for label in labels:
        assert label in shown, label
    assert markers(root) == count + 1  # one per value, one in the legend
    assert root.find("svg:title", NS).text == HOSTILE
    assert root.get("role") == "img" and root.get("aria-labelledby") == "p1-title"
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert ids and all(i.startswith("p1-") for i in ids)
    # the same drawing is vector graphics in a PDF (reportlab draws it; nothing rasterised)
    assert drawing.width > 0 and drawing.height > 0


def test_fragments_on_one_page_have_their_own_ids():
    a = svg_fragment(kappa_plot(EVALUATION), "κ", prefix="kappa")
    b = svg_fragment(luminance_plot(EVALUATION), "L", prefix="lum")
    assert not a.startswith("<?xml")
    ids_a = {e.get("id") for e in parse(a).iter() if e.get("id")}
    ids_b = {e.get("id") for e in parse(b).iter() if e.get("id")}
    assert ids_a and ids_b and not ids_a & ids_b
    assert 'clip-path="url(#kappa-clip)"' in a
    with pytest.raises(ValueError):
        svg_fragment(kappa_plot(EVALUATION), "κ", prefix='x" onload="alert(1)')


def test_kappa_plot_draws_the_display_limit_and_both_bands():
    secondary = evaluate_display(P8, PASSES_20, AMBIENT, "secondary").as_dict()
    shown = texts(parse(svg_document(kappa_plot(secondary), "κ")))
    assert "limit ±20 % (secondary)" in shown and "±10 % primary" in shown


def test_a_history_of_one_session_still_plots():
    root = parse(svg_document(trend_plot(history()[:1]), "trend"))
    assert markers(root) == 2 + 1
