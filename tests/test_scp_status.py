"""Print SCP status paths (PS3.4 Annex H, PS3.7 Annex C) over real associations on 127.0.0.1."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from printserver.config import PrinterConfig
from printserver.jobs import JobState
from printserver.layout.film_layout import image_area_sizes
from printserver.layout.spec import FilmSpec

from store_helpers import set_state
from scp_fixtures import (ANNOTATION, FILM_BOX, FILM_SESSION, IMAGE_BOX, PLUT, PRINT_JOB, PRINTER,
                          PRINTER_INSTANCE, VERIFICATION, InProcessServer, PrintSCU,
                          association_answer, image_box_ds, reference)


@pytest.fixture
def server(tmp_path):
    servers = []

    def make(toml: str = "") -> InProcessServer:
        srv = InProcessServer(tmp_path / f"s{len(servers)}", toml)
        servers.append(srv)
        return srv

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def scu(server):
    srv = server()
    with srv.scu() as scu:
        scu.server = srv
        yield scu


def _ds(**kw) -> Dataset:
    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def _film(scu: PrintSCU, fmt: str = "STANDARD\\1,1", **kw):
    fs = scu.film_session()
    fb = scu.film_box(fs, fmt, **kw)
    assert fb.status in (0, 0xB605), hex(fb.status)
    boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
    return fs, fb.affected_uid, boxes


def px8(r=4, c=4):
    return np.full((r, c), 7, np.uint8)


# -- 0105 / 0107: unsupported attributes ------------------------------------------------------

def test_0105_unknown_attribute_strict(server):
    srv = server("[dicom]\nstrict_attributes = true\n")
    with srv.scu() as scu:
        ds = _ds(NumberOfCopies=1)
        ds.add_new(0x00091010, "LO", "private")
        r = scu.create(FILM_SESSION, ds)
        assert r.status == 0x0105
        assert "(0009,1010)" in r.status_ds.ErrorComment
        assert r.affected_uid is None  # failed creates carry no UID


def test_0107_unknown_attribute_lenient_still_prints(scu):
    ds = _ds(NumberOfCopies=1)
    ds.add_new(0x00091010, "LO", "private")
    r = scu.create(FILM_SESSION, ds)
    assert r.status == 0x0107 and r.affected_uid  # warning keeps the SCP-assigned UID (P1)
    fb = scu.film_box(r.affected_uid)
    box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
    assert scu.set(IMAGE_BOX, box, image_box_ds(1, px8())).status == 0
    assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    assert len(scu.server.store.list()) == 1


def test_specific_character_set_and_proposed_study_accepted(scu):
    study = Dataset()
    study.PatientName = "Doe^Jane"
    study.PatientID = "42"
    r = scu.create(FILM_SESSION, _ds(SpecificCharacterSet="ISO_IR 100", OwnerID="RAD",
                                     ProposedStudySequence=[study]))
    assert r.status == 0


# -- 0106 invalid values ----------------------------------------------------------------------

# (printer-defined attributes, e.g. Medium Type: tests/test_scp_printer_defined.py)
@pytest.mark.parametrize("attrs", [{"PrintPriority": "URGENT"}, {"NumberOfCopies": 0}])
def test_0106_film_session_values(scu, attrs):
    r = scu.create(FILM_SESSION, _ds(**attrs))
    assert r.status == 0x0106 and r.status_ds.ErrorComment


@pytest.mark.parametrize("fmt,attrs", [
    ("STANDARD\\0,1", {}), ("DIAGONAL\\1", {}), ("CUSTOM\\9", {}),
    ("STANDARD\\1,1", {"FilmOrientation": "DIAGONAL"}), ("STANDARD\\1,1", {"Trim": "MAYBE"}),
])
def test_0106_film_box_values(scu, fmt, attrs):
    fs = scu.film_session()
    r = scu.film_box(fs, fmt, **attrs)
    assert r.status == 0x0106, hex(r.status)
    # Error Comment is one LO value: a backslash from the request must not split it
    assert r.status_ds.ErrorComment and "\\" not in str(r.status_ds.ErrorComment)
    assert not isinstance(r.status_ds.ErrorComment, (list, tuple)) and \
        r.status_ds["ErrorComment"].VM == 1


def test_0106_wrong_film_session_reference(scu):
    scu.film_session()
    r = scu.film_box("1.2.3.4")
    assert r.status == 0x0106
    assert "ReferencedFilmSessionSequence" in r.status_ds.ErrorComment


@pytest.mark.parametrize("change", ["PhotometricInterpretation", "BitsStored", "HighBit",
                                    "PixelRepresentation", "short", "position", "collision"])
def test_0106_image_box_pixel_module(scu, change):
    _fs, _fb, boxes = _film(scu, "STANDARD\\2,1")
    ds = image_box_ds(1, np.zeros((4, 4), np.uint16))
    item = ds.BasicGrayscaleImageSequence[0]
    if change == "PhotometricInterpretation":
        item.PhotometricInterpretation = "RGB"
    elif change == "BitsStored":
        item.BitsStored, item.HighBit = 10, 9
    elif change == "HighBit":
        item.HighBit = 15
    elif change == "PixelRepresentation":
        item.PixelRepresentation = 1
    elif change == "short":
        item.PixelData = item.PixelData[:-2]
    elif change == "position":
        ds.ImageBoxPosition = 3
    elif change == "collision":
        assert scu.set(IMAGE_BOX, boxes[1], image_box_ds(1, px8())).status == 0
    assert scu.set(IMAGE_BOX, boxes[0], ds).status == 0x0106


def test_0106_failed_n_set_leaves_box_unchanged(scu):
    _fs, fb, boxes = _film(scu)
    good = np.full((4, 4), 9, np.uint8)
    assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(1, good)).status == 0
    bad = image_box_ds(1, px8(), Polarity="SIDEWAYS")
    assert scu.set(IMAGE_BOX, boxes[0], bad).status == 0x0106
    assert scu.action(FILM_BOX, fb).status == 0
    job = scu.server.store.list()[0]
    assert scu.server.spool.pixel_bytes(job, 1, 1) == good.tobytes()


def test_0106_unknown_presentation_lut_and_bad_table(scu):
    fs = scu.film_session()
    r = scu.film_box(fs, ReferencedPresentationLUTSequence=reference(PLUT, "1.2.3"))
    assert r.status == 0x0106
    assert scu.create(PLUT, _ds(PresentationLUTShape="LOG")).status == 0x0106
    item = Dataset()
    item.add_new(0x00283002, "US", [4096, 0, 12])
    item.add_new(0x00283006, "US", list(range(100)))
    assert scu.create(PLUT, _ds(PresentationLUTSequence=[item])).status == 0x0106


# -- 0111, 0112, 0117, 0119, 0120, 0123 ---------------------------------------------------------

def test_0111_second_film_session_and_duplicate_uid(scu):
    fs = scu.film_session()
    assert scu.create(FILM_SESSION, _ds(NumberOfCopies=1)).status == 0x0111
    assert scu.create(FILM_BOX, _film_box_ds(fs), uid=fs).status == 0x0111


def _film_box_ds(fs: str) -> Dataset:
    return _ds(ImageDisplayFormat="STANDARD\\1,1",
               ReferencedFilmSessionSequence=reference(FILM_SESSION, fs))


def test_0112_unknown_instances(scu):
    _fs, fb, _boxes = _film(scu)
    assert scu.set(IMAGE_BOX, "1.2.3.999", image_box_ds(1, px8())).status == 0x0112
    assert scu.action(FILM_BOX, "1.2.3.999").status == 0x0112
    assert scu.delete(FILM_BOX, fb).status == 0
    assert scu.delete(FILM_BOX, fb).status == 0x0112
    assert scu.get(PRINTER, "1.2.3.4").status == 0x0112
    assert scu.get(PRINT_JOB, "1.2.3.4").status == 0x0112


def test_0117_film_box_without_film_session(scu):
    assert scu.create(FILM_BOX, _film_box_ds("1.2.3")).status == 0x0117


def test_0119_class_instance_conflict(scu):
    _fs, fb, _boxes = _film(scu)
    assert scu.set(IMAGE_BOX, fb, image_box_ds(1, px8())).status == 0x0119


def test_0120_missing_attributes(scu):
    fs = scu.film_session()
    r = scu.create(FILM_BOX, _ds(ReferencedFilmSessionSequence=reference(FILM_SESSION, fs)))
    assert r.status == 0x0120 and "ImageDisplayFormat" in r.status_ds.ErrorComment
    assert scu.create(FILM_BOX, _ds(ImageDisplayFormat="STANDARD\\1,1")).status == 0x0120
    fb = scu.film_box(fs)
    box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
    no_position = image_box_ds(1, px8())
    del no_position.ImageBoxPosition
    assert scu.set(IMAGE_BOX, box, no_position).status == 0x0120
    no_rows = image_box_ds(1, px8())
    del no_rows.BasicGrayscaleImageSequence[0].Rows
    assert scu.set(IMAGE_BOX, box, no_rows).status == 0x0120
    assert scu.create(PLUT, _ds(LUTExplanation="x")).status in (0x0120, 0x0107)


def test_0123_no_such_action(scu):
    fs, fb, boxes = _film(scu)
    assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(1, px8())).status == 0
    assert scu.action(FILM_BOX, fb, action_type=2).status == 0x0123
    assert scu.action(FILM_SESSION, fs, action_type=7).status == 0x0123
    assert scu.server.store.list() == []


# -- print-specific warnings and failures -----------------------------------------------------

def test_b600_memory_allocation_keeps_assigned_uid(scu):
    r = scu.create(FILM_SESSION, _ds(MemoryAllocation=1024))
    assert r.status == 0xB600
    assert r.affected_uid  # pitfall P1: the UID is in the response even with a warning
    assert scu.film_box(r.affected_uid).status == 0


def test_b603_empty_film_box_and_c600_no_film_box(scu):
    fs = scu.film_session()
    assert scu.action(FILM_SESSION, fs).status == 0xC600
    fb = scu.film_box(fs)
    assert scu.action(FILM_BOX, fb.affected_uid).status == 0xB603
    assert scu.action(FILM_SESSION, fs).status == 0xB602
    assert scu.server.store.list() == []


def test_b605_density_clamped(scu):
    fs = scu.film_session()
    r = scu.film_box(fs, MaxDensity=450, MinDensity=5)
    assert r.status == 0xB605 and r.affected_uid
    assert (r.dataset.MaxDensity, r.dataset.MinDensity) == (300, 20)
    box = r.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
    assert scu.set(IMAGE_BOX, box, image_box_ds(1, px8(), MaxDensity=999)).status == 0xB605


def test_c603_image_too_large_and_size_warnings(scu):
    # 14x17 in at 320 dpi, STANDARD\4,4: 4480 x 5440 pixels less the 2 mm gaps between boxes, so
    # a little under 1120 x 1360 per box. The SCP must use the renderer's geometry: an image it
    # accepts with FAIL must not fail when the film is rendered.
    spec = FilmSpec(image_display_format="STANDARD\\4,4", film_size_id="14INX17IN",
                    film_orientation="PORTRAIT", requested_resolution_id="STANDARD")
    width, height = image_area_sizes(spec, PrinterConfig())[0]
    assert 1080 <= width < 1120 and 1320 <= height < 1360
    _fs, fb, boxes = _film(scu, "STANDARD\\4,4")
    big = np.zeros((1400, 1200), np.uint8)
    assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(
        1, big, RequestedDecimateCropBehavior="FAIL")).status == 0xC603
    assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(
        1, big, RequestedDecimateCropBehavior="DECIMATE", MagnificationType="NONE")).status == 0xC603
    assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(
        1, big, RequestedDecimateCropBehavior="CROP")).status == 0xB609
    assert scu.set(IMAGE_BOX, boxes[1], image_box_ds(
        2, big, RequestedDecimateCropBehavior="DECIMATE")).status == 0xB60A
    assert scu.set(IMAGE_BOX, boxes[2], image_box_ds(3, big)).status == 0xB604
    one_too_wide = np.zeros((height, width + 1), np.uint8)
    assert scu.set(IMAGE_BOX, boxes[3], image_box_ds(
        4, one_too_wide, RequestedDecimateCropBehavior="FAIL")).status == 0xC603
    fits = np.zeros((height, width), np.uint8)
    assert scu.set(IMAGE_BOX, boxes[3], image_box_ds(
        4, fits, RequestedDecimateCropBehavior="FAIL")).status == 0


def test_c605_spool_bytes_and_image_size_limits(server):
    srv = server("[dicom.limits]\nmax_spool_bytes_per_association = 1000\nmax_image_rows = 64\n")
    with srv.scu() as scu:
        _fs, fb, boxes = _film(scu, "STANDARD\\2,1")
        assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(1, np.zeros((20, 30), np.uint8))).status == 0
        r = scu.set(IMAGE_BOX, boxes[1], image_box_ds(2, np.zeros((20, 30), np.uint8)))
        assert r.status == 0xC605
        # replacing an image frees its bytes
        assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(1, np.zeros((20, 40), np.uint8))).status == 0
        assert scu.set(IMAGE_BOX, boxes[1], image_box_ds(2, np.zeros((65, 2), np.uint8))).status == 0xC605
        assert scu.action(FILM_BOX, fb).status == 0


def test_0213_film_boxes_per_session(server):
    srv = server("[dicom.limits]\nmax_film_boxes_per_session = 2\n")
    with srv.scu() as scu:
        fs = scu.film_session()
        assert scu.film_box(fs).status == 0
        assert scu.film_box(fs).status == 0
        assert scu.film_box(fs).status == 0x0213


def test_0110_presentation_lut_referenced_from_session(scu):
    lut = scu.create(PLUT, _ds(PresentationLUTShape="IDENTITY")).affected_uid
    scu.film_session(ReferencedPresentationLUTSequence=reference(PLUT, lut))
    assert scu.delete(PLUT, lut).status == 0x0110


def test_annotation_position_checks(scu):
    fs = scu.film_session()
    fb = scu.film_box(fs, AnnotationDisplayFormatID="LABEL")
    (ann,) = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedBasicAnnotationBoxSequence]
    assert scu.set(ANNOTATION, ann, _ds(AnnotationPosition=2, TextString="x")).status == 0x0106
    assert scu.set(ANNOTATION, ann, _ds(TextString="x")).status == 0x0120


# -- association level -------------------------------------------------------------------------

def _associate(port: int, called: str, calling: str = "TESTSCU"):
    ae = AE(ae_title=calling)
    ae.acse_timeout = 5
    ae.add_requested_context(VERIFICATION)
    return ae.associate("127.0.0.1", port, ae_title=called)


def test_unknown_called_ae_rejected_unless_default_printer(server):
    srv = server('[[printers]]\nae_title = "FILM1"\n[[printers]]\nae_title = "FILM2"\n'
                 'calling_aets = ["CT1"]\n')
    # rejected-permanent, service user, called / calling AE title not recognized (PS3.8 9-21)
    assert association_answer(srv.port, "NOPRINTER") == (0x03, (1, 1, 7))
    assert association_answer(srv.port, "FILM2", "MR1") == (0x03, (1, 1, 3))
    assert association_answer(srv.port, "FILM2", "CT1") == (0x02, None)
    ok = _associate(srv.port, "FILM1", "ANY")
    assert ok.is_established
    ok.release()
    srv2 = server('[dicom]\ndefault_printer = "FILM1"\n[[printers]]\nae_title = "FILM1"\n')
    assoc = _associate(srv2.port, "WHATEVER")
    assert assoc.is_established
    assoc.release()


def test_printer_selected_by_called_ae(server):
    srv = server('[[printers]]\nae_title = "FILM1"\nname = "first"\n'
                 '[[printers]]\nae_title = "FILM2"\nname = "second"\nmax_density = 250\n')
    with srv.scu(called="FILM2") as scu:
        assert scu.get(PRINTER, PRINTER_INSTANCE).dataset.PrinterName == "second"
        fs = scu.film_session()
        assert scu.film_box(fs, MaxDensity=280).dataset.MaxDensity == 250


def test_max_associations(server):
    srv = server("[dicom.limits]\nmax_associations = 1\n")
    first = _associate(srv.port, "PRINTSCP")
    assert first.is_established
    # rejected-transient, service provider (presentation), local limit exceeded
    assert association_answer(srv.port, "PRINTSCP") == (0x03, (2, 3, 2))
    first.release()
    deadline = time.monotonic() + 30
    while srv.server.active_associations and time.monotonic() < deadline:
        time.sleep(0.01)
    assert association_answer(srv.port, "PRINTSCP") == (0x02, None)  # the slot is free again


def test_state_is_per_association(server):
    srv = server()
    with srv.scu() as scu:
        _fs, fb, boxes = _film(scu)
    with srv.scu() as scu:
        assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(1, px8())).status == 0x0112
        assert scu.film_session()  # a new session is allowed: the old one was deleted


def test_film_session_n_create_without_data_set(scu):
    r = scu.create(FILM_SESSION, None)
    assert r.status == 0 and r.affected_uid
    assert r.dataset.NumberOfCopies == 1 and r.dataset.PrintPriority == "MED"  # defaults echoed


def test_film_session_n_create_with_scu_uid_and_n_set(scu):
    r = scu.create(FILM_SESSION, _ds(NumberOfCopies=1), uid="1.2.826.0.1.3680043.8.498.77")
    assert r.status == 0 and r.affected_uid == "1.2.826.0.1.3680043.8.498.77"
    s = scu.set(FILM_SESSION, r.affected_uid, _ds(NumberOfCopies=4, MemoryAllocation=10))
    assert s.status == 0xB600 and s.dataset.NumberOfCopies == 4
    assert scu.set(FILM_SESSION, r.affected_uid, _ds(NumberOfCopies=0)).status == 0x0106


def test_printer_get_unknown_attribute_warns_0107(scu):
    r = scu.get(PRINTER, PRINTER_INSTANCE, [0x21100030, 0x00100010])
    assert r.status == 0x0107
    assert r.dataset.PrinterName == "printserver" and "PatientName" not in r.dataset
    assert r.status_ds["AttributeIdentifierList"].value == 0x00100010  # VM 1: a single tag


def test_printer_status_reports_a_full_spool(server):
    srv = server("[dicom.limits]\nmax_spool_bytes_per_association = 1_000_000_000_000_000\n")
    with srv.scu() as scu:
        r = scu.get(PRINTER, PRINTER_INSTANCE)
        assert (r.dataset.PrinterStatus, r.dataset.PrinterStatusInfo) == ("WARNING", "PRINT BUFF FULL")


def test_c601_c602_print_queue_full(server):
    # no render workers here: a queued job stays queued
    srv = server("[dicom.limits]\nmax_queued_jobs = 1\n")
    with srv.scu() as scu:
        fs, fb, boxes = _film(scu)
        assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(1, px8())).status == 0
        assert scu.action(FILM_BOX, fb).status == 0
        r = scu.get(PRINTER, PRINTER_INSTANCE)
        assert (r.dataset.PrinterStatus, r.dataset.PrinterStatusInfo) == ("WARNING", "PRINT BUFF FULL")
        second = scu.film_box(fs)
        box = second.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, px8())).status == 0
        refused = scu.action(FILM_BOX, second.affected_uid)
        assert refused.status == 0xC602 and "queue full" in refused.status_ds.ErrorComment
        assert scu.action(FILM_SESSION, fs).status == 0xC601
    assert len(srv.store.list()) == 1  # nothing half-queued
    set_state(srv.store, srv.store.list()[0].job_id, JobState.DONE)
    with srv.scu() as scu:  # the queue drained: printing works again
        r = scu.get(PRINTER, PRINTER_INSTANCE)
        assert (r.dataset.PrinterStatus, r.dataset.PrinterStatusInfo) == ("NORMAL", "NORMAL")
        fs, fb, boxes = _film(scu)
        assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(1, px8())).status == 0
        assert scu.action(FILM_BOX, fb).status == 0


def test_film_box_n_set_and_image_box_options(scu):
    fs = scu.film_session()
    fb = scu.film_box(fs, "STANDARD\\2,1")
    uid = fb.affected_uid
    r = scu.set(FILM_BOX, uid, _ds(MaxDensity=250, MagnificationType="REPLICATE",
                                   BorderDensity="150", Trim="YES"))
    assert r.status == 0 and r.dataset.MaxDensity == 250 and r.dataset.Trim == "YES"
    # Image Display Format cannot be changed by N-SET (PS3.4 Table H.4-7): ignored with 0107
    r = scu.set(FILM_BOX, uid, _ds(ImageDisplayFormat="STANDARD\\3,3"))
    assert r.status == 0x0107
    box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
    r = scu.set(IMAGE_BOX, box, image_box_ds(1, px8(), RequestedImageSize="120.5",
                                             SmoothingType="SHARP", MagnificationType="BILINEAR"))
    assert r.status == 0
    assert scu.action(FILM_BOX, uid).status == 0
    manifest = scu.server.spool.load_manifest(scu.server.store.list()[0])
    film = manifest["films"][0]
    assert film["attributes"]["ImageDisplayFormat"] == "STANDARD\\2,1"
    assert (film["attributes"]["MaxDensity"], film["attributes"]["BorderDensity"]) == (250, "150")
    attrs = film["image_boxes"][0]["attributes"]
    assert attrs == {"ImageBoxPosition": 1, "RequestedImageSize": 120.5, "SmoothingType": "SHARP",
                     "MagnificationType": "BILINEAR"}
