"""Print SCP happy paths over real associations on 127.0.0.1 (pynetdicom SCU, in-process server).

Each test prints and then reads the stored job back: attributes from the manifest, pixels from the
spool, compared exactly with what was sent.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian

from scp_fixtures import (ANNOTATION, FILM_BOX, FILM_SESSION, IMAGE_BOX, META, PLUT, PRINT_JOB,
                          PRINTER, PRINTER_CONFIGURATION, PRINTER_CONFIGURATION_INSTANCE,
                          PRINTER_INSTANCE, InProcessServer, image_box_ds, reference)

RNG = np.random.default_rng(3)


@pytest.fixture
def server(tmp_path):
    servers = []

    def make(toml: str = "") -> InProcessServer:
        srv = InProcessServer(tmp_path / f"s{len(servers)}", toml)
        servers.append(srv)
        return srv

    make.default = None
    yield make
    for s in servers:
        s.stop()


def pixels12(rows: int, cols: int) -> np.ndarray:
    return RNG.integers(0, 4096, (rows, cols), dtype=np.uint16)


def pixels8(rows: int, cols: int) -> np.ndarray:
    return RNG.integers(0, 256, (rows, cols), dtype=np.uint8)


def only_job(srv: InProcessServer):
    jobs = srv.store.list()
    assert len(jobs) == 1
    return jobs[0], srv.spool.load_manifest(jobs[0])


def test_dcmtk_style_flow_2x2_12bit(server):
    srv = server()
    with srv.scu() as scu:
        printer = scu.get(PRINTER, PRINTER_INSTANCE)
        assert printer.status == 0
        assert printer.dataset.PrinterStatus == "NORMAL"
        assert printer.dataset.PrinterName == "printserver"
        assert printer.dataset.Manufacturer == "printserver project"
        fs = scu.create(FILM_SESSION, _ds(NumberOfCopies=1, FilmSessionLabel="study 42"))
        assert fs.status == 0 and fs.affected_uid  # N-CREATE without UID: the SCP assigns one
        fb = scu.film_box(fs.affected_uid, "STANDARD\\2,2", FilmSizeID="14INX17IN")
        assert fb.status == 0
        boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        assert len(boxes) == 4
        assert {i.ReferencedSOPClassUID for i in fb.dataset.ReferencedImageBoxSequence} == {IMAGE_BOX}
        assert fb.dataset.MaxDensity == 300 and fb.dataset.FilmOrientation == "PORTRAIT"
        sent = {}
        for pos, uid in enumerate(boxes, start=1):
            px = pixels12(64 + pos, 48)
            sent[pos] = px
            assert scu.set(IMAGE_BOX, uid, image_box_ds(pos, px)).status == 0
        act = scu.action(FILM_BOX, fb.affected_uid)
        assert act.status == 0
        assert 0x21000500 in act.dataset and 0x21200070 not in act.dataset  # pitfall P3
        job_uid = act.dataset[0x21000500].value[0].ReferencedSOPInstanceUID
        assert act.dataset[0x21000500].value[0].ReferencedSOPClassUID == PRINT_JOB
        assert [e[0] for e in scu.events] == [1]  # PENDING inside the N-ACTION
        pj = scu.get(PRINT_JOB, job_uid)
        assert pj.status == 0
        assert (pj.dataset.ExecutionStatus, pj.dataset.ExecutionStatusInfo) == ("PENDING", "QUEUED")
        assert pj.dataset.Originator == "TESTSCU"
        assert scu.delete(FILM_BOX, fb.affected_uid).status == 0
        assert scu.delete(FILM_SESSION, fs.affected_uid).status == 0
    job, manifest = only_job(srv)
    assert job.state.value == "QUEUED" and job.print_job_uid == job_uid
    assert job.calling_ae == "TESTSCU" and job.called_ae == "PRINTSCP" and job.film_count == 1
    assert manifest["film_session"]["attributes"] == {
        "NumberOfCopies": 1, "PrintPriority": "MED", "MediumType": "BLUE FILM",
        "FilmDestination": "PROCESSOR", "FilmSessionLabel": "study 42"}
    film = manifest["films"][0]
    assert film["attributes"]["ImageDisplayFormat"] == "STANDARD\\2,2"
    assert film["attributes"]["FilmSizeID"] == "14INX17IN"
    assert film["attributes"]["MinDensity"] == 20
    for pos, px in sent.items():
        box = film["image_boxes"][pos - 1]
        assert box["position"] == pos
        assert box["image"]["rows"] == px.shape[0] and box["image"]["bits_stored"] == 12
        assert box["image"]["photometric_interpretation"] == "MONOCHROME2"
        assert srv.spool.pixel_bytes(job, 1, pos) == px.astype("<u2").tobytes()
        assert np.array_equal(srv.spool.load_pixels(job, 1, pos), px)


def _ds(**kw) -> Dataset:
    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def test_8bit_monochrome1_annotations_copies_landscape(server):
    srv = server()
    with srv.scu() as scu:
        fs = scu.film_session(NumberOfCopies=3, MediumType="PAPER", PrintPriority="HIGH")
        fb = scu.film_box(fs, "ROW\\1,2", FilmOrientation="LANDSCAPE",
                          AnnotationDisplayFormatID="BOTTOM", BorderDensity="WHITE")
        assert fb.status == 0
        anns = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedBasicAnnotationBoxSequence]
        assert len(anns) == 4
        boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        assert len(boxes) == 3
        px = pixels8(30, 40)
        r = scu.set(IMAGE_BOX, boxes[1], image_box_ds(2, px, photometric="MONOCHROME1",
                                                      Polarity="REVERSE"))
        assert r.status == 0 and r.dataset.Polarity == "REVERSE"
        assert scu.set(ANNOTATION, anns[0], _ds(AnnotationPosition=1, TextString="LEFT")).status == 0
        assert scu.set(ANNOTATION, anns[3], _ds(AnnotationPosition=4, TextString="R")).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    job, manifest = only_job(srv)
    assert job.copies == 3 and job.print_priority == "HIGH"
    film = manifest["films"][0]
    assert film["attributes"]["FilmOrientation"] == "LANDSCAPE"
    assert film["attributes"]["BorderDensity"] == "WHITE"
    assert film["image_display_format"] == {"kind": "ROW", "counts": [1, 2], "text": "ROW\\1,2"}
    assert [(a["position"], a["text"]) for a in film["annotation_boxes"]] == [
        (1, "LEFT"), (None, None), (None, None), (4, "R")]
    box = next(b for b in film["image_boxes"] if b["position"] == 2)
    assert box["attributes"]["Polarity"] == "REVERSE"
    assert box["image"]["photometric_interpretation"] == "MONOCHROME1"
    assert box["image"]["bits_allocated"] == 8
    assert srv.spool.pixel_bytes(job, 1, 2) == px.tobytes()


def test_presentation_luts_shapes_and_4096_table(server):
    srv = server()
    table = ((np.arange(4096) * 65535) // 4095).astype(np.uint16)
    with srv.scu() as scu:
        lin = scu.create(PLUT, _ds(PresentationLUTShape="LIN OD"))
        assert lin.status == 0 and lin.affected_uid
        ident = scu.create(PLUT, _ds(PresentationLUTShape="IDENTITY"))
        item = Dataset()
        item.add_new(0x00283002, "US", [4096, 0, 16])
        item.add_new(0x00283006, "OW", table.tobytes())
        item.LUTExplanation = "test curve"
        tab = scu.create(PLUT, _ds(PresentationLUTSequence=[item]))
        assert tab.status == 0
        fs = scu.film_session()
        fb = scu.film_box(fs, "STANDARD\\3,1",
                          ReferencedPresentationLUTSequence=reference(PLUT, lin.affected_uid),
                          Illumination=150, ReflectedAmbientLight=5)
        assert fb.status == 0
        boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        images = {1: pixels12(20, 20), 2: pixels12(20, 20), 3: pixels12(20, 20)}
        assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(1, images[1])).status == 0
        assert scu.set(IMAGE_BOX, boxes[1], image_box_ds(
            2, images[2], ReferencedPresentationLUTSequence=reference(PLUT, ident.affected_uid))).status == 0
        assert scu.set(IMAGE_BOX, boxes[2], image_box_ds(
            3, images[3], ReferencedPresentationLUTSequence=reference(PLUT, tab.affected_uid))).status == 0
        # a 4096-entry table does not fit an 8-bit image
        assert scu.set(IMAGE_BOX, boxes[2], image_box_ds(
            3, pixels8(4, 4), ReferencedPresentationLUTSequence=reference(PLUT, tab.affected_uid))
        ).status == 0x0106
        # referenced: not deleted
        assert scu.delete(PLUT, lin.affected_uid).status == 0x0110
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
        assert scu.delete(FILM_BOX, fb.affected_uid).status == 0
        assert scu.delete(PLUT, lin.affected_uid).status == 0
        assert scu.delete(PLUT, lin.affected_uid).status == 0x0112
    job, manifest = only_job(srv)
    film = manifest["films"][0]
    assert film["presentation_lut"] == {"uid": lin.affected_uid, "shape": "LIN OD"}
    assert film["attributes"]["Illumination"] == 150
    assert film["attributes"]["ReflectedAmbientLight"] == 5
    luts = [b["presentation_lut"] for b in film["image_boxes"]]
    assert luts[0]["shape"] == "LIN OD" and luts[1]["shape"] == "IDENTITY"
    assert luts[2]["descriptor"] == [4096, 0, 16] and luts[2]["data"] == table.tolist()
    assert luts[2]["explanation"] == "test curve"
    for pos, px in images.items():
        assert np.array_equal(srv.spool.load_pixels(job, 1, pos), px)


def test_session_print_several_film_boxes_collated(server):
    srv = server()
    with srv.scu() as scu:
        fs = scu.film_session(NumberOfCopies=2)
        sent = []
        for n in range(3):
            fb = scu.film_box(fs, "STANDARD\\1,1")
            box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
            px = pixels8(10 + n, 10)
            sent.append(px)
            assert scu.set(IMAGE_BOX, box, image_box_ds(1, px)).status == 0
        act = scu.action(FILM_SESSION, fs)
        assert act.status == 0 and 0x21000500 in act.dataset
    job, manifest = only_job(srv)
    assert job.film_count == 3 and job.copies == 2 and manifest["collated"] is True
    assert manifest["action"] == "FILM_SESSION"
    for n, px in enumerate(sent, start=1):
        assert srv.spool.pixel_bytes(job, n, 1) == px.tobytes()


def test_session_print_skips_empty_film_box_with_b602(server):
    srv = server()
    with srv.scu() as scu:
        fs = scu.film_session()
        fb = scu.film_box(fs, "STANDARD\\1,1")
        scu.film_box(fs, "STANDARD\\2,1")  # stays empty
        box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, pixels8(5, 5))).status == 0
        assert scu.action(FILM_SESSION, fs).status == 0xB602
    job, _manifest = only_job(srv)
    assert job.film_count == 1


def test_pre_cp173_session_level_presentation_lut(server):
    srv = server()
    with srv.scu() as scu:
        lin = scu.create(PLUT, _ds(PresentationLUTShape="LIN OD")).affected_uid
        fs = scu.create(FILM_SESSION, _ds(ReferencedPresentationLUTSequence=reference(PLUT, lin),
                                          Illumination=2500))
        assert fs.status == 0
        fb = scu.film_box(fs.affected_uid)
        box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, pixels12(8, 8))).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
        # a later session N-SET applies to the session's film boxes too
        assert scu.set(FILM_SESSION, fs.affected_uid, _ds(ReflectedAmbientLight=3)).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    first, second = (srv.spool.load_manifest(j) for j in srv.store.list())
    film = first["films"][0]
    assert film["presentation_lut"] == {"uid": lin, "shape": "LIN OD"}
    assert film["attributes"]["Illumination"] == 2500
    assert "ReflectedAmbientLight" not in first["film_session"]["attributes"]
    assert second["films"][0]["attributes"]["ReflectedAmbientLight"] == 3
    manifest = first
    assert manifest["film_session"]["attributes"]["ReferencedPresentationLUTSequence"] == lin


def test_meta_only_negotiation_no_print_job_reply(server):
    srv = server()
    with srv.scu(contexts=(META,)) as scu:
        fs = scu.film_session()
        fb = scu.film_box(fs, "STANDARD\\1,1", AnnotationDisplayFormatID="LABEL")
        assert fb.status == 0 and "ReferencedBasicAnnotationBoxSequence" not in fb.dataset
        box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, pixels8(4, 4))).status == 0
        act = scu.action(FILM_BOX, fb.affected_uid)
        assert act.status == 0 and not act.dataset
        assert scu.events == []
        assert scu.get(PRINTER, PRINTER_INSTANCE).status == 0
    assert len(srv.store.list()) == 1


@pytest.mark.parametrize("ts", [ExplicitVRBigEndian, ImplicitVRLittleEndian])
def test_transfer_syntaxes_pixels_exact(server, ts):
    srv = server()
    px = pixels12(33, 17)
    big = ts == ExplicitVRBigEndian
    with srv.scu(transfer_syntaxes=[ts]) as scu:
        assert scu.assoc.accepted_contexts[0].transfer_syntax[0] == ts
        fs = scu.film_session()
        fb = scu.film_box(fs)
        box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, px, big_endian=big)).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    job, _ = only_job(srv)
    assert np.array_equal(srv.spool.load_pixels(job, 1, 1), px)


def test_individual_film_classes_lenient(server):
    srv = server()
    with srv.scu(contexts=(FILM_SESSION, FILM_BOX, IMAGE_BOX)) as scu:
        fs = scu.film_session()
        fb = scu.film_box(fs)
        assert fb.status == 0
        box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, pixels8(4, 4))).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    assert len(srv.store.list()) == 1


def test_status_only_association_and_configuration_retrieval(server):
    srv = server()
    with srv.scu(contexts=(PRINTER, PRINTER_CONFIGURATION)) as scu:
        r = scu.get(PRINTER, PRINTER_INSTANCE, [0x21100010])
        assert r.status == 0 and list(r.dataset.keys()) == [0x21100010]
        cfg = scu.get(PRINTER_CONFIGURATION, PRINTER_CONFIGURATION_INSTANCE)
        assert cfg.status == 0
        item = cfg.dataset.PrinterConfigurationSequence[0]
        assert item.MediaInstalledSequence[0].FilmSizeID == "14INX17IN"
        assert item.PrintingBitDepth == 12
        assert {f.PrinterResolutionID for f in item.SupportedImageDisplayFormatsSequence} == {
            "STANDARD", "HIGH"}


def test_erase_image_with_empty_sequence(server):
    srv = server()
    with srv.scu() as scu:
        fs = scu.film_session()
        fb = scu.film_box(fs, "STANDARD\\2,1")
        b1, b2 = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        assert scu.set(IMAGE_BOX, b1, image_box_ds(1, pixels8(4, 4))).status == 0
        assert scu.set(IMAGE_BOX, b2, image_box_ds(2, pixels8(4, 4))).status == 0
        assert scu.set(IMAGE_BOX, b2, image_box_ds(2, None)).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    _job, manifest = only_job(srv)
    assert [b["image"] is not None for b in manifest["films"][0]["image_boxes"]] == [True, False]


def test_large_precomposed_sheet_12bit(server):
    """A 7112 × 8636 12-bit sheet (14×17 in at 508 dpi) in STANDARD\\1,1, HIGH resolution."""
    srv = server("[dicom.limits]\nmax_image_rows = 9000\nmax_pdu_size = 0\n")
    px = (np.arange(7112 * 8636, dtype=np.uint32) % 4096).astype(np.uint16).reshape(8636, 7112)
    with srv.scu(max_pdu=0) as scu:
        fs = scu.film_session()
        fb = scu.film_box(fs, "STANDARD\\1,1", RequestedResolutionID="HIGH")
        box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        r = scu.set(IMAGE_BOX, box, image_box_ds(1, px, RequestedDecimateCropBehavior="FAIL"))
        assert r.status == 0  # fits exactly: no demagnification needed
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    job, manifest = only_job(srv)
    image = manifest["films"][0]["image_boxes"][0]["image"]
    assert (image["columns"], image["rows"], image["bits_stored"]) == (7112, 8636, 12)
    assert np.array_equal(srv.spool.load_pixels(job, 1, 1), px)


@pytest.mark.parametrize("fmt,boxes", [("SLIDE", 20), ("SUPERSLIDE", 36), ("CUSTOM\\1", 3),
                                       ("COL\\2,3", 5), ("STANDARD\\4,5", 20)])
def test_display_formats_create_one_box_per_cell(server, fmt, boxes):
    srv = server()
    with srv.scu() as scu:
        fs = scu.film_session()
        fb = scu.film_box(fs, fmt)
        assert fb.status == 0 and fb.dataset.ImageDisplayFormat == fmt
        uids = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        assert len(uids) == len(set(uids)) == boxes
        assert scu.set(IMAGE_BOX, uids[-1], image_box_ds(boxes, pixels8(8, 8))).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    _job, manifest = only_job(srv)
    assert manifest["films"][0]["image_boxes"][0]["position"] == boxes


def test_queued_job_is_a_copy_and_staging_is_cleaned(server):
    """Later N-SETs do not change a queued job; staging files go when the association ends."""
    srv = server()
    first, second = pixels8(6, 6), pixels8(6, 6) ^ 0xFF
    with srv.scu() as scu:
        fs = scu.film_session()
        fb = scu.film_box(fs)
        box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, first)).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, second)).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    jobs = srv.store.list()
    assert [srv.spool.pixel_bytes(j, 1, 1) for j in jobs] == [first.tobytes(), second.tobytes()]
    deadline = time.monotonic() + 30  # the server ends the association on its own thread
    while list(srv.spool.staging.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(srv.spool.staging.iterdir()) == []


def test_abort_drops_unprinted_films_but_keeps_jobs(server):
    srv = server()
    scu = srv.scu()
    fs = scu.film_session()
    fb = scu.film_box(fs)
    box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
    assert scu.set(IMAGE_BOX, box, image_box_ds(1, pixels8(5, 5))).status == 0
    assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    assert scu.set(IMAGE_BOX, box, image_box_ds(1, pixels8(5, 5))).status == 0  # never printed
    scu.assoc.abort()
    deadline = time.monotonic() + 30
    while (list(srv.spool.staging.iterdir()) or srv.server.active_associations) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(srv.spool.staging.iterdir()) == []
    assert len(srv.store.list()) == 1
