"""A reportlab drawing as SVG that is safe to serve and to inline in a page.

reportlab's own SVG renderer (:mod:`reportlab.graphics.renderSVG`) draws the chart; its output is
then rewritten (parsed as XML, never as text):

* every ``style="…"`` attribute becomes SVG presentation attributes (``fill="…"``,
  ``font-size="…"``): the pages' Content-Security-Policy allows no inline style, and presentation
  attributes are not style;
* element ids get a prefix, so that several plots on one page do not share a clip path;
* text keeps reportlab's layout in any browser: reportlab places it with Helvetica's metrics, so
  each text gets ``textLength`` (its width in those metrics), and a browser without Helvetica or
  a metric twin (Arial, Liberation Sans) fits its own font to that width instead of shifting
  right-aligned axis labels into the axis;
* only drawing elements are kept (no ``script``, ``foreignObject``, event handler attributes or
  external references: reportlab writes none, and nothing that comes from user input can add one);
  text stays text, escaped by the XML writer;
* the ``title`` and ``desc`` say what the plot shows (screen readers; ``role="img"``).

:func:`svg_document` gives a standalone file (``image/svg+xml``), :func:`svg_fragment` the
``<svg>`` element alone for a page.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from reportlab.graphics import renderSVG
from reportlab.graphics.shapes import Drawing
from reportlab.pdfbase.pdfmetrics import stringWidth

SVG_NS = "http://www.w3.org/2000/svg"
#: the elements a plot may contain (anything else is dropped with its content)
ELEMENTS = {"svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text",
            "tspan", "title", "desc", "clipPath", "defs"}
#: the attributes kept (style declarations become attributes of these names too)
ATTRIBUTES = {"id", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "width",
              "height", "d", "points", "transform", "viewBox", "preserveAspectRatio", "version",
              "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
              "stroke-linecap", "stroke-linejoin", "stroke-dasharray", "stroke-miterlimit",
              "font-family", "font-size", "font-weight", "font-style", "text-anchor",
              "clip-path", "clip-rule", "opacity", "role", "aria-labelledby", "class",
              "textLength", "lengthAdjust"}
_URL = re.compile(r"url\(#([A-Za-z0-9_.-]+)\)")
#: fonts a browser has when the drawing names a PDF core font
_FONTS = {name: "Helvetica, Arial, 'Liberation Sans', 'Nimbus Sans', sans-serif"
          for name in ("Helvetica", "Helvetica-Bold")}

ET.register_namespace("", SVG_NS)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _clean(element: ET.Element, prefix: str) -> None:
    for child in list(element):
        if _local(child.tag) not in ELEMENTS:
            element.remove(child)
            continue
        _clean(child, prefix)
    style = element.attrib.pop("style", "")
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip(), value.strip()
        if name and value and name not in element.attrib:
            element.set(name, value)
    for name in list(element.attrib):
        if _local(name) not in ATTRIBUTES:
            del element.attrib[name]
    for name in ("fill", "stroke"):
        if element.get(name, "").lower() == "none":
            element.set(name, "none")
    font = element.get("font-family", "")
    if font in _FONTS:
        element.set("font-family", _FONTS[font])
        if font.endswith("-Bold"):
            element.set("font-weight", "bold")
        if _local(element.tag) == "text" and element.text:
            size = float(element.get("font-size", "10").removesuffix("px"))
            element.set("textLength", f"{stringWidth(element.text, font, size):.2f}")
            element.set("lengthAdjust", "spacingAndGlyphs")
    if "id" in element.attrib:
        element.set("id", f"{prefix}-{element.get('id')}")
    for name in ("clip-path", "fill", "stroke"):
        if name in element.attrib:
            value = _URL.sub(lambda m: f"url(#{prefix}-{m.group(1)})", element.get(name, ""))
            if "url(" in value and "#" not in value:
                value = "none"  # an external reference: never
            element.set(name, value)


def _tree(drawing: Drawing, title: str, description: str, prefix: str) -> ET.Element:
    raw = renderSVG.drawToString(drawing)
    raw = re.sub(r"<!DOCTYPE[^>]*>", "", raw, count=1, flags=re.S)
    root = ET.fromstring(raw.encode("utf-8"))
    _clean(root, prefix)
    for child in list(root):
        if _local(child.tag) in ("title", "desc"):
            root.remove(child)
    heading = ET.Element(f"{{{SVG_NS}}}title", {"id": f"{prefix}-title"})
    heading.text = title
    desc = ET.Element(f"{{{SVG_NS}}}desc")
    desc.text = description or title
    root.insert(0, desc)
    root.insert(0, heading)
    root.set("role", "img")
    root.set("aria-labelledby", f"{prefix}-title")
    return root


def svg_fragment(drawing: Drawing, title: str, description: str = "", prefix: str = "plot") -> str:
    """The ``<svg>`` element of ``drawing`` for a page (module docstring); ``prefix`` makes its ids
    unique on the page (letters, digits, ``-``)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", prefix):
        raise ValueError(f"SVG id prefix must be letters, digits and '-': {prefix!r}")
    return ET.tostring(_tree(drawing, title, description, prefix), encoding="unicode")


def svg_document(drawing: Drawing, title: str, description: str = "", prefix: str = "plot") -> str:
    """A standalone SVG file of ``drawing`` (an XML declaration, then :func:`svg_fragment`)."""
    return '<?xml version="1.0" encoding="utf-8"?>\n' + svg_fragment(drawing, title, description,
                                                                      prefix) + "\n"
