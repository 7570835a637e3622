"""Interoperability with DCMTK's print tools: ``dcmpsprt`` renders a print job, ``dcmprscu`` spools
it (issue 3, Acceptance).

The first tests validate the harness (:mod:`tests.dcmtk_print`) against DCMTK's own Print SCP,
``dcmprscp``: the statuses read from dcmprscu's log, and the model of the pixels dcmprscu
transmits, checked byte for byte against what dcmprscp receives. The others print to printserver
and read the stored job back: attributes and pixels must be exactly those dcmprscu sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import require_tool
from dcmtk_print import (
    DcmprscpServer,
    DimseMessage,
    FilmOptions,
    PrinterProfile,
    SpoolResult,
    StoredPrint,
    expected_sent_pixels,
    free_port,
    pattern,
    render,
    spool,
    write_config,
    write_image,
    write_lut_file,
)
from printserver.jobs.model import Job
from printserver.jobs.spool import Spool

pytestmark = pytest.mark.dcmtk


@pytest.fixture(scope="module", autouse=True)
def _dcmtk_tools() -> None:
    for tool in ("dcmpsprt", "dcmprscu", "dcmprscp"):
        require_tool(tool)


def full_range_ramp() -> np.ndarray:
    """64 × 64 12-bit image holding every value 0..4095 once."""
    return np.arange(4096, dtype=np.uint16).reshape(64, 64)


# --------------------------------------------------------------------------------------------
# The harness against DCMTK's own SCP


def test_harness_against_dcmprscp(tmp_path: Path) -> None:
    """dcmprscu's statuses are read from its log, and the pixels it transmits (12-bit, 8-bit,
    MONOCHROME1) are exactly what :func:`expected_sent_pixels` predicts from dcmpsprt's
    Hardcopy Grayscale images, as received and stored by dcmprscp."""
    with DcmprscpServer(tmp_path / "dcmprscp") as scp:
        printers = [
            PrinterProfile(name="REF12", ae_title=scp.ae_title, port=scp.port),
            PrinterProfile(name="REF8", ae_title=scp.ae_title, port=scp.port,
                           supports_12bit=False),
            PrinterProfile(name="IMPLICIT", ae_title=scp.ae_title, port=scp.port,
                           implicit_only=True),
        ]
        cfg = write_config(tmp_path / "scu", printers)
        ramp = write_image(tmp_path / "ramp.dcm", full_range_ramp(), 12)
        marked = write_image(tmp_path / "marked.dcm", pattern(48, 40, 12, seed=5), 12)
        stored = render(cfg, [ramp, marked], FilmOptions(columns=2, rows=1))
        assert stored.positions == [1, 2]
        assert np.array_equal(stored.images[0].pixel_array, full_range_ramp())

        for printer, mono1, twelve in (("REF12", False, True), ("REF12", True, True),
                                       ("REF8", False, False), ("IMPLICIT", False, True)):
            result = spool(cfg, stored, printer=printer, monochrome1=mono1)
            result.assert_ok()
            assert result.negotiated_transfer_syntaxes() == {
                "Little Endian Implicit" if printer == "IMPLICIT" else "Little Endian Explicit"}
            assert [s for _, s in result.statuses()] == [0] * len(result.requests)
            assert len(result.sent_images()) == 2
            received = scp.received(scp.stored_prints()[-1])
            assert sorted(received) == [1, 2]
            for position, hardcopy in zip(stored.positions, stored.images):
                got = received[position]
                want = expected_sent_pixels(hardcopy, transmit_12bit=twelve, monochrome1=mono1)
                assert got.PhotometricInterpretation == ("MONOCHROME1" if mono1 else "MONOCHROME2")
                assert int(got.BitsStored) == (12 if twelve else 8)
                assert got.pixel_array.dtype.itemsize == want.dtype.itemsize
                assert np.array_equal(got.pixel_array, want), (printer, mono1, position)
        film_box = scp.stored_prints()[-1].FilmBoxContentSequence[0]
        assert film_box.ImageDisplayFormat == "STANDARD\\2,1"

        # a refusal is seen in the log although dcmprscu exits 0: 3,2 is not a dcmprscp format
        refused = spool(cfg, render(cfg, [marked], FilmOptions(columns=3, rows=2)))
        assert refused.returncode == 0
        assert refused.response_to("N-CREATE", "BasicFilmBoxSOPClass").status == 0x0106
        assert any("BasicFilmBoxSOPClass: status 0106" in p for p in refused.problems())


def test_unreachable_printer_is_a_failure_despite_exit_0(tmp_path: Path) -> None:
    """dcmprscu exits 0 when it cannot even connect; the harness reports the failure."""
    cfg = write_config(tmp_path / "scu", [PrinterProfile(port=free_port())])
    image = write_image(tmp_path / "a.dcm", pattern(16, 16, 12), 12)
    result = spool(cfg, render(cfg, [image], FilmOptions()), timeout=30)
    assert result.returncode == 0
    assert result.requests == []
    assert any("connection setup with printer failed" in e for e in result.errors)
    assert result.problems()


# --------------------------------------------------------------------------------------------
# printserver's Print SCP


@pytest.fixture
def print_scp(print_scp_factory: Any) -> Any:
    """printserver with its default printer and no render workers: these tests check what the
    SCP stored, and rendering every job in the background would only slow them down."""
    return print_scp_factory("[workers]\ncount = 0\n")


@dataclass
class StoredJob:
    """A print job as printserver stored it: the job row, its manifest and the spooled pixels."""

    job: Job
    manifest: dict[str, Any]
    spool: Spool

    @property
    def films(self) -> list[dict[str, Any]]:
        return self.manifest["films"]

    @property
    def session(self) -> dict[str, Any]:
        return self.manifest["film_session"]["attributes"]

    def film(self, number: int = 1) -> dict[str, Any]:
        return self.films[number - 1]["attributes"]

    def image_boxes(self, number: int = 1) -> dict[int, dict[str, Any]]:
        return {int(b["position"]): b for b in self.films[number - 1]["image_boxes"]
                if b.get("position") is not None}

    def pixels(self, position: int, number: int = 1) -> np.ndarray:
        return self.spool.load_pixels(self.job, number, position, self.manifest)

    def annotations(self, number: int = 1) -> dict[int, str | None]:
        return {int(b["position"]): b.get("text")
                for b in self.films[number - 1].get("annotation_boxes", [])
                if b.get("position") is not None}

    def presentation_lut(self, number: int = 1) -> dict[str, Any] | None:
        return self.films[number - 1].get("presentation_lut")


@dataclass
class Outcome:
    """One scenario printed to printserver: what dcmpsprt rendered, dcmprscu's log, the job."""

    stored: StoredPrint
    result: SpoolResult
    job: StoredJob


def print_to_printserver(print_scp: Any, tmp_path: Path, images: list[tuple[int, str, int]],
                         film: FilmOptions, size: tuple[int, int] = (48, 40),
                         allowed: dict[str, set[int]] | None = None,
                         luts: dict[str, Path] | None = None, profile: dict[str, Any] | None = None,
                         **spool_options: Any) -> Outcome:
    """Render ``images`` ((bits, photometric, seed) each) with dcmpsprt, spool them with dcmprscu
    to printserver, check dcmprscu's log for success, and read back the one job it stored."""
    target = PrinterProfile(ae_title=print_scp.ae_title, host=print_scp.host,
                            port=print_scp.port, **(profile or {}))
    cfg = write_config(tmp_path / "scu", [target], luts=luts)
    files = [write_image(tmp_path / f"image{i}.dcm", pattern(*size, bits, seed), bits, photometric)
             for i, (bits, photometric, seed) in enumerate(images)]
    stored = render(cfg, files, film)
    with print_scp.store() as store:
        before = {j.job_id for j in store.list()}
    result = spool(cfg, stored, **spool_options)
    result.assert_ok(allowed)
    with print_scp.store() as store:
        new = [j for j in store.list() if j.job_id not in before]
    assert len(new) == 1, f"expected one new job, found {len(new)}"
    spool_folder = Spool(Path(print_scp.data_dir) / "spool")
    job = StoredJob(new[0], spool_folder.load_manifest(new[0]), spool_folder)
    return Outcome(stored, result, job)


def _as_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "\\".join(_as_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sent_attributes(message: DimseMessage) -> dict[str, str]:
    """Top-level, non-sequence attributes of a dumped request data set."""
    found = {}
    for line in message.dataset.splitlines():
        m = re.match(r"\(([0-9a-f]{4}),([0-9a-f]{4})\) (\w\w) (.*?)\s+#\s*\d+,\s*\d+\s+(\S+)$",
                     line)
        if m and m.group(1) != "fffe" and m.group(3) != "SQ" and m.group(2) != "0000":
            found[m.group(5)] = message.value(m.group(5)) or ""
    return found


def assert_attributes_stored(sent: DimseMessage, stored: dict[str, Any]) -> None:
    """Every attribute of an N-CREATE request is in the stored job with the same value."""
    attributes = _sent_attributes(sent)
    for keyword, value in attributes.items():
        assert keyword in stored, f"{keyword} sent as {value!r} but not stored ({sorted(stored)})"
        assert _as_text(stored[keyword]).strip() == value.strip(), (keyword, stored[keyword], value)


def assert_job_matches(out: Outcome, *, transmit_12bit: bool = True, monochrome1: bool = False,
                       film_number: int = 1) -> None:
    """The stored job carries the film session / film box attributes dcmprscu sent and, for each
    image box position, exactly the pixels dcmprscu sent; boxes it did not set are empty."""
    assert len(out.job.films) >= film_number
    assert_attributes_stored(out.result.request("N-CREATE", "BasicFilmSessionSOPClass"),
                             out.job.session)
    assert_attributes_stored(out.result.request("N-CREATE", "BasicFilmBoxSOPClass"),
                             out.job.film(film_number))
    boxes = out.job.image_boxes(film_number)
    sent = {int(rq.value("ImageBoxPosition")): rq for rq in out.result.sent_images()}
    assert sorted(sent) == out.stored.positions
    for position, hardcopy in zip(out.stored.positions, out.stored.images):
        rq = sent[position]
        image = boxes[position]["image"]
        assert image is not None, f"image box {position} has no image"
        for keyword in ("Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit",
                        "PhotometricInterpretation", "PixelRepresentation"):
            key = re.sub(r"(?<!^)(?=[A-Z])", "_", keyword).lower()
            assert _as_text(image[key]) == rq.value(keyword), (position, keyword)
        want = expected_sent_pixels(hardcopy, transmit_12bit=transmit_12bit,
                                    monochrome1=monochrome1)
        got = out.job.pixels(position, film_number)
        assert got.dtype.itemsize == want.dtype.itemsize
        assert np.array_equal(got, want), f"pixels of image box {position} differ"
    for position, box in boxes.items():
        if position not in sent:
            assert box.get("image") is None, f"image box {position} was never set"


def test_1x1(print_scp: Any, tmp_path: Path) -> None:
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", 1)], FilmOptions())
    assert out.job.film()["ImageDisplayFormat"] == "STANDARD\\1,1"
    assert len(out.job.films) == 1
    assert_job_matches(out)


def test_2x2(print_scp: Any, tmp_path: Path) -> None:
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", s) for s in range(4)],
                               FilmOptions(columns=2, rows=2))
    assert out.job.film()["ImageDisplayFormat"] == "STANDARD\\2,2"
    assert sorted(out.job.image_boxes()) == [1, 2, 3, 4]
    # DCMTK proposes Explicit VR Little Endian first; printserver prefers it too, as dcmprscp does
    assert out.result.negotiated_transfer_syntaxes() == {"Little Endian Explicit"}
    assert_job_matches(out)


def test_4x4(print_scp: Any, tmp_path: Path) -> None:
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", s) for s in range(16)],
                               FilmOptions(columns=4, rows=4), size=(32, 24))
    assert out.job.film()["ImageDisplayFormat"] == "STANDARD\\4,4"
    assert sorted(out.job.image_boxes()) == list(range(1, 17))
    assert_job_matches(out)


def test_partly_filled_page(print_scp: Any, tmp_path: Path) -> None:
    """Three images on a 2 × 2 page: the fourth box stays empty and the page still prints."""
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", s) for s in range(3)],
                               FilmOptions(columns=2, rows=2))
    assert len(out.result.sent_images()) == 3
    assert out.stored.positions == [1, 2, 3]
    boxes = out.job.films[0]["image_boxes"]
    assert len(boxes) == 4
    assert sum(1 for b in boxes if b.get("image") is not None) == 3
    assert_job_matches(out)


def test_landscape_with_copies(print_scp: Any, tmp_path: Path) -> None:
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", s) for s in range(2)],
                               FilmOptions(columns=2, rows=1, orientation="LANDSCAPE",
                                           film_size="14INX17IN"),
                               copies=3, priority="HIGH", medium_type="CLEAR FILM",
                               destination="MAGAZINE", label="DCMTK interop", owner="TESTER")
    sent = out.result.request("N-CREATE", "BasicFilmSessionSOPClass")
    assert sent.value("NumberOfCopies") == "3"
    assert sent.value("MediumType") == "CLEAR FILM"
    assert _as_text(out.job.session["NumberOfCopies"]) == "3"
    assert out.job.session["PrintPriority"] == "HIGH"
    assert out.job.session["FilmSessionLabel"] == "DCMTK interop"
    assert out.job.job.copies == 3
    assert out.job.film()["FilmOrientation"] == "LANDSCAPE"
    assert out.job.film()["FilmSizeID"] == "14INX17IN"
    assert_job_matches(out)


def test_8bit(print_scp: Any, tmp_path: Path) -> None:
    """A printer configured without 12-bit support gets 8 bits allocated, 8 stored."""
    out = print_to_printserver(print_scp, tmp_path, [(8, "MONOCHROME2", 2)], FilmOptions(),
                               profile={"supports_12bit": False})
    rq = out.result.sent_images()[0]
    assert (rq.value("BitsAllocated"), rq.value("BitsStored"), rq.value("HighBit")) == (
        "8", "8", "7")
    assert out.job.image_boxes()[1]["image"]["bits_stored"] == 8
    assert_job_matches(out, transmit_12bit=False)


def test_12bit_with_film_box_attributes(print_scp: Any, tmp_path: Path) -> None:
    """12 bits in 16, with film size, magnification, smoothing, densities, trim and resolution."""
    film = FilmOptions(film_size="8INX10IN", magnification="CUBIC", smoothing="SHARP",
                       border_density="WHITE", empty_image_density="BLACK", min_density=25,
                       max_density=280, trim=True, resolution="HIGH")
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", 7)], film,
                               profile={"supports_trim": True})
    rq = out.result.sent_images()[0]
    assert (rq.value("BitsAllocated"), rq.value("BitsStored"), rq.value("HighBit")) == (
        "16", "12", "11")
    stored = out.job.film()
    assert stored["FilmSizeID"] == "8INX10IN"
    assert stored["MagnificationType"] == "CUBIC"
    assert stored["SmoothingType"] == "SHARP"
    assert stored["BorderDensity"] == "WHITE"
    assert stored["EmptyImageDensity"] == "BLACK"
    assert int(stored["MinDensity"]) == 25
    assert int(stored["MaxDensity"]) == 280
    assert stored["Trim"] == "YES"
    assert stored["RequestedResolutionID"] == "HIGH"
    assert_job_matches(out)


def test_monochrome1(print_scp: Any, tmp_path: Path) -> None:
    """A MONOCHROME1 source image, transmitted as MONOCHROME1 (dcmprscu --monochrome1)."""
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME1", 3)], FilmOptions(),
                               monochrome1=True)
    assert out.result.sent_images()[0].value("PhotometricInterpretation") == "MONOCHROME1"
    assert out.job.image_boxes()[1]["image"]["photometric_interpretation"] == "MONOCHROME1"
    assert_job_matches(out, monochrome1=True)


@pytest.mark.parametrize("shape", ["IDENTITY", "LIN OD"])
def test_presentation_lut_shape(print_scp: Any, tmp_path: Path, shape: str) -> None:
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", 4)],
                               FilmOptions(plut_shape=shape, illumination=1800, reflection=12))
    sent = out.result.request("N-CREATE", "PresentationLUTSOPClass")
    assert sent.value("PresentationLUTShape") == shape
    plut = out.job.presentation_lut()
    assert plut is not None and plut.get("shape") == shape
    assert int(out.job.film()["Illumination"]) == 1800
    assert int(out.job.film()["ReflectedAmbientLight"]) == 12
    assert_job_matches(out)


def test_presentation_lut_4096_entry_table(print_scp: Any, tmp_path: Path) -> None:
    """A 4096-entry, 12-bit Presentation LUT table reaches the job unchanged."""
    table = np.round(4095 * (np.arange(4096) / 4095.0) ** 0.5).astype(np.uint16)
    lut = write_lut_file(tmp_path / "sqrt4096.dcm", table, 12, "square root")
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", 5)],
                               FilmOptions(plut_table="SQRT12"), luts={"SQRT12": lut})
    sent = out.result.request("N-CREATE", "PresentationLUTSOPClass")
    assert sent.value("LUTDescriptor") == "4096\\0\\12"
    plut = out.job.presentation_lut()
    assert plut is not None and plut.get("shape") in (None, "")
    assert list(plut["descriptor"]) == [4096, 0, 12]
    assert [int(v) for v in plut["data"]] == table.tolist()
    assert_job_matches(out)


def test_session_print(print_scp: Any, tmp_path: Path) -> None:
    """N-ACTION on the Film Session (dcmprscu --session-print) prints its film box."""
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", s) for s in range(2)],
                               FilmOptions(columns=1, rows=2), session_print=True)
    actions = [rq for rq in out.result.requests if rq.type == "N-ACTION RQ"]
    assert [a.sop_class for a in actions] == ["BasicFilmSessionSOPClass"]
    assert len(out.job.films) == 1
    assert_job_matches(out)


def test_implicit_vr_only(print_scp: Any, tmp_path: Path) -> None:
    """ImplicitOnly = true: dcmprscu proposes Implicit VR Little Endian only."""
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", 6)], FilmOptions(),
                               profile={"implicit_only": True})
    assert "Little Endian Explicit" not in out.result.negotiated_transfer_syntaxes()
    assert out.result.negotiated_transfer_syntaxes() == {"Little Endian Implicit"}
    assert_job_matches(out)


def test_annotation(print_scp: Any, tmp_path: Path) -> None:
    """Annotation = 1\\LABEL: the film box asks for LABEL, the annotation box gets the text."""
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", 8)],
                               FilmOptions(annotation="PRINTSERVER INTEROP"),
                               profile={"annotation": (1, "LABEL")})
    assert out.result.request("N-CREATE", "BasicFilmBoxSOPClass").value(
        "AnnotationDisplayFormatID") == "LABEL"
    sent = out.result.request("N-SET", "BasicAnnotationBoxSOPClass")
    assert sent.value("TextString") == "PRINTSERVER INTEROP"
    assert out.job.film()["AnnotationDisplayFormatID"] == "LABEL"
    assert out.job.annotations()[int(sent.value("AnnotationPosition"))] == "PRINTSERVER INTEROP"
    assert_job_matches(out)


def test_presentation_lut_in_film_session(print_scp: Any, tmp_path: Path) -> None:
    """PresentationLUTinFilmSession = true (pre-CP-173 printers): the LIN OD Presentation LUT,
    Illumination and Reflected Ambient Light go with the Film Session, and the film uses them."""
    out = print_to_printserver(print_scp, tmp_path, [(12, "MONOCHROME2", 9)],
                               FilmOptions(plut_shape="LIN OD", illumination=1500, reflection=8),
                               profile={"plut_in_film_session": True})
    session_rq = out.result.request("N-CREATE", "BasicFilmSessionSOPClass")
    assert session_rq.value("Illumination") == "1500"
    assert out.result.request("N-CREATE", "BasicFilmBoxSOPClass").value("Illumination") is None
    plut = out.job.presentation_lut()
    assert plut is not None and plut.get("shape") == "LIN OD"
    assert int(out.job.film()["Illumination"]) == 1500
    assert int(out.job.film()["ReflectedAmbientLight"]) == 8
    assert_job_matches(out)
