"""Printer-defined attribute values (issue 12): lenient by default, refused when strict.

PS3.3 leaves Smoothing Type, Annotation Display Format ID and Configuration Information to the
printer and lists Defined Terms a printer may extend for Medium Type, Film Destination, Film Size
ID, Requested Resolution ID, Magnification Type and Border / Empty Image Density. A value the
printer does not have is accepted with the printer's default in its place and warning 0116
(PS3.4 H.2.4), unless ``strict_attributes``: then 0106 as before. Over real associations on
127.0.0.1 with printserver's own SCP in this process.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from pydicom.dataset import Dataset

from printserver.config import PrinterConfig
from printserver.layout.film_layout import image_area_sizes, plan_film
from printserver.layout.spec import FilmSpec
from scp_fixtures import (ANNOTATION, FILM_BOX, FILM_SESSION, IMAGE_BOX, META, PLUT, PRINT_JOB,
                          PRINTER_CONFIGURATION, PRINTER_CONFIGURATION_INSTANCE, image_box_ds)
from test_scp_status import server  # noqa: F401  (fixture: in-process SCPs from TOML)

#: (Film Session attribute, refused value, the default used in its place)
SESSION_CASES = [("MediumType", "VELLUM", "BLUE FILM"), ("MediumType", "STOREDPRINT", "BLUE FILM"),
                 ("FilmDestination", "BIN_7", "PROCESSOR"),
                 ("FilmDestination", "STOREDPRINT", "PROCESSOR")]
#: (Film Box attribute, refused value, the default used in its place) on the default printer
FILM_BOX_CASES = [("FilmSizeID", "9X9", "14INX17IN"), ("FilmSizeID", "CURRENT", "14INX17IN"),
                  ("RequestedResolutionID", "ULTRA", "STANDARD"),
                  ("MagnificationType", "SHARP", "CUBIC"), ("SmoothingType", "NONE", "MEDIUM"),
                  ("BorderDensity", "GRAY", "BLACK"), ("EmptyImageDensity", "GRAY", "BLACK")]
TAGS = {"MediumType": 0x20000030, "FilmDestination": 0x20000040, "FilmSizeID": 0x20100050,
        "RequestedResolutionID": 0x20200050, "MagnificationType": 0x20100060,
        "SmoothingType": 0x20100080, "BorderDensity": 0x20100100,
        "EmptyImageDensity": 0x20100110, "ConfigurationInformation": 0x20100150,
        "AnnotationDisplayFormatID": 0x20100030}


def _ds(**kw) -> Dataset:
    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def _offending(response) -> list[int]:
    """Offending Element (0000,0901) of the response command set (PS3.7 C.4)."""
    value = response.command.get("OffendingElement")
    return [int(v) for v in (value if isinstance(value, (list, tuple)) or
                             type(value).__name__ == "MultiValue" else [value])]


@pytest.mark.parametrize("keyword,value,default", SESSION_CASES)
def test_film_session_value_lenient_is_default_with_0116(server, caplog, keyword, value, default):
    with server().scu() as scu, caplog.at_level(logging.WARNING, "printserver.scp.attributes"):
        r = scu.create(FILM_SESSION, _ds(NumberOfCopies=1, **{keyword: value}))
        assert r.status == 0x0116 and r.affected_uid  # the SCP-assigned UID survives a warning
        assert getattr(r.dataset, keyword) == default
        assert keyword in r.status_ds.ErrorComment and value in r.status_ds.ErrorComment
        assert _offending(r) == [TAGS[keyword]]
    line = next(rec.getMessage() for rec in caplog.records if keyword in rec.getMessage())
    assert repr(value) in line and repr(default) in line and "0116" in line


@pytest.mark.parametrize("keyword,value,default", SESSION_CASES)
def test_film_session_value_strict_is_0106(server, keyword, value, default):
    with server("[dicom]\nstrict_attributes = true\n").scu() as scu:
        r = scu.create(FILM_SESSION, _ds(NumberOfCopies=1, **{keyword: value}))
        assert r.status == 0x0106 and keyword in r.status_ds.ErrorComment
        assert r.affected_uid is None


@pytest.mark.parametrize("keyword,value,default", FILM_BOX_CASES)
def test_film_box_value_lenient_prints_with_default(server, keyword, value, default):
    """The film box is created with the default echoed, its image box set and the film printed;
    the job records the default, so the film is rendered with it."""
    srv = server()
    with srv.scu() as scu:
        fs = scu.film_session()
        fb = scu.film_box(fs, **{keyword: value})
        assert fb.status == 0x0116, hex(fb.status)
        assert str(getattr(fb.dataset, keyword)) == default
        assert _offending(fb) == [TAGS[keyword]]
        box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, np.full((8, 8), 9, np.uint8))).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    (job,) = srv.store.list()
    manifest = srv.spool.load_manifest(job)
    assert str(manifest["films"][0]["attributes"][keyword]) == default


@pytest.mark.parametrize("keyword,value,default", FILM_BOX_CASES)
def test_film_box_value_strict_is_0106(server, keyword, value, default):
    with server("[dicom]\nstrict_attributes = true\n").scu() as scu:
        r = scu.film_box(scu.film_session(), **{keyword: value})
        assert r.status == 0x0106 and keyword in r.status_ds.ErrorComment


def test_film_box_nset_and_image_box_values_lenient_and_strict(server):
    """Film box N-SET: the default in place; image box N-SET: the value dropped, so that the film
    box's applies; strict: 0106 for both, nothing changed."""
    with server().scu() as scu:
        fb = scu.film_box(scu.film_session(), MagnificationType="BILINEAR")
        r = scu.set(FILM_BOX, fb.affected_uid, _ds(SmoothingType="5", MagnificationType="BICUBIC"))
        assert r.status == 0x0116
        assert (r.dataset.SmoothingType, r.dataset.MagnificationType) == ("MEDIUM", "CUBIC")
        box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        r = scu.set(IMAGE_BOX, box, image_box_ds(1, np.full((8, 8), 9, np.uint8),
                                                 MagnificationType="SHARP", SmoothingType="15"))
        assert r.status == 0x0116
        assert "MagnificationType" not in r.dataset and "SmoothingType" not in r.dataset
    with server("[dicom]\nstrict_attributes = true\n").scu() as scu:
        fb = scu.film_box(scu.film_session())
        assert scu.set(FILM_BOX, fb.affected_uid, _ds(SmoothingType="5")).status == 0x0106
        box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        r = scu.set(IMAGE_BOX, box, image_box_ds(1, np.full((8, 8), 9, np.uint8),
                                                 MagnificationType="SHARP"))
        assert r.status == 0x0106


# -- Configuration Information (2010,0150), ST -------------------------------------------------

CONFIG_TEXT = "perception_lut=Kanamori\\gamma 2.2  CS005"


def test_configuration_information_any_text_kept_as_sent(server):
    """By default any value is accepted, never upper-cased, backslash and inner spaces kept, at
    film box and image box level, and stored with the job."""
    srv = server()
    with srv.scu() as scu:
        fb = scu.film_box(scu.film_session(), ConfigurationInformation=CONFIG_TEXT)
        assert fb.status == 0
        assert fb.dataset.ConfigurationInformation == CONFIG_TEXT
        box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        r = scu.set(IMAGE_BOX, box, image_box_ds(1, np.full((8, 8), 9, np.uint8),
                                                 ConfigurationInformation="box level; lower"))
        assert r.status == 0 and r.dataset.ConfigurationInformation == "box level; lower"
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    (job,) = srv.store.list()
    film = srv.spool.load_manifest(job)["films"][0]
    assert film["attributes"]["ConfigurationInformation"] == CONFIG_TEXT
    assert film["image_boxes"][0]["attributes"]["ConfigurationInformation"] == "box level; lower"


def test_configuration_information_list_restricts(server):
    """A printer's configuration_information list restricts the values (compared as text, lower
    case matches itself); its first value is the default; another value: the default with 0116,
    or 0106 when strict. Printer Configuration Retrieval describes the values."""
    toml = '[[printers]]\nconfiguration_information = ["perception_lut=kanamori", "CS005"]\n'
    with server(toml).scu() as scu:
        fs = scu.film_session()
        assert scu.film_box(fs).dataset.ConfigurationInformation == "perception_lut=kanamori"
        exact = scu.film_box(fs, ConfigurationInformation="CS005")
        assert exact.status == 0 and exact.dataset.ConfigurationInformation == "CS005"
        lower = scu.film_box(fs, ConfigurationInformation="perception_lut=kanamori")
        assert lower.status == 0
        other = scu.film_box(fs, ConfigurationInformation="cs005")
        assert other.status == 0x0116
        assert other.dataset.ConfigurationInformation == "perception_lut=kanamori"
        r = scu.get("1.2.840.10008.5.1.1.16.376", PRINTER_CONFIGURATION_INSTANCE)
        description = r.dataset.PrinterConfigurationSequence[0].ConfigurationInformationDescription
        assert description.split("\r\n") == ["perception_lut=kanamori", "CS005"]
    toml = '[dicom]\nstrict_attributes = true\n' + toml
    with server(toml).scu() as scu:
        r = scu.film_box(scu.film_session(), ConfigurationInformation="cs005")
        assert r.status == 0x0106


# -- Annotation Display Format ID -------------------------------------------------------------

def test_unknown_annotation_display_format_gets_boxes_and_prints(server):
    """An Annotation Display Format ID the printer does not define is kept, gets
    ``unknown_annotation_boxes`` (6) boxes with 0116, and the texts set are printed."""
    srv = server()
    with srv.scu(contexts=(META, ANNOTATION, PRINT_JOB)) as scu:
        fb = scu.film_box(scu.film_session(), AnnotationDisplayFormatID="ANNOTATION")
        assert fb.status == 0x0116 and fb.dataset.AnnotationDisplayFormatID == "ANNOTATION"
        boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedBasicAnnotationBoxSequence]
        assert len(boxes) == 6
        for position, uid in ((1, boxes[0]), (3, boxes[2])):
            r = scu.set(ANNOTATION, uid, _ds(AnnotationPosition=position,
                                             TextString=f"text {position}"))
            assert r.status == 0
        image = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        assert scu.set(IMAGE_BOX, image, image_box_ds(1, np.full((8, 8), 9, np.uint8))).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    (job,) = srv.store.list()
    film = srv.spool.load_manifest(job)["films"][0]
    assert film["attributes"]["AnnotationDisplayFormatID"] == "ANNOTATION"
    assert {a["position"]: a["text"] for a in film["annotation_boxes"] if a["text"]} == {
        1: "text 1", 3: "text 3"}


def test_unknown_annotation_display_format_strict_is_0106(server):
    with server("[dicom]\nstrict_attributes = true\n").scu(
            contexts=(META, ANNOTATION)) as scu:
        r = scu.film_box(scu.film_session(), AnnotationDisplayFormatID="ANNOTATION")
        assert r.status == 0x0106


def test_unknown_annotation_format_layout_shares_the_top_line_among_texts():
    """The renderer's layout for an undefined ID: one line across the top, shared by the boxes
    that hold text, in position order; the image boxes' size does not depend on the texts (so
    the SCP's fit checks at N-SET hold at rendering)."""
    printer = PrinterConfig(resolution_dpi={"STANDARD": 50})
    film = FilmSpec(image_display_format="STANDARD\\1,1", annotation_display_format_id="XYZ",
                    annotations={1: "left", 4: "right", 9: "beyond"})
    layout = plan_film(film, printer)
    assert sorted(layout.annotation_boxes) == [1, 4]
    left, right = layout.annotation_boxes[1], layout.annotation_boxes[4]
    assert left.y == right.y == layout.label_line.y and left.x < right.x
    assert left.width + right.width == layout.label_line.width
    empty = FilmSpec(image_display_format="STANDARD\\1,1", annotation_display_format_id="XYZ")
    assert image_area_sizes(empty, printer) == image_area_sizes(film, printer)
    assert plan_film(empty, printer).annotation_boxes == {}


# -- Presentation LUT support (a profile can turn it off) -------------------------------------

def test_printer_without_presentation_lut(server):
    """supports_presentation_lut = false: PLUT N-CREATE → 0118; Illumination is an unsupported
    attribute (0107, strict 0105); Printer Configuration Retrieval does not list the class."""
    with server("[[printers]]\nsupports_presentation_lut = false\n").scu(
            contexts=(META, PLUT, PRINTER_CONFIGURATION)) as scu:
        assert scu.create(PLUT, _ds(PresentationLUTShape="IDENTITY")).status == 0x0118
        fb = scu.film_box(scu.film_session(), Illumination=1500)
        assert fb.status == 0x0107 and "Illumination" not in fb.dataset
        r = scu.get("1.2.840.10008.5.1.1.16.376", PRINTER_CONFIGURATION_INSTANCE)
        assert PLUT not in r.dataset.PrinterConfigurationSequence[0].SOPClassesSupported
