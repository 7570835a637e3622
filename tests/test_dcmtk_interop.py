"""Interoperability with DCMTK's print tools: ``dcmpsprt`` renders a print job, ``dcmprscu`` spools
it (issue 3, Acceptance).

The first tests validate the harness (:mod:`tests.dcmtk_print`) against DCMTK's own Print SCP,
``dcmprscp``: the statuses read from dcmprscu's log, and the model of the pixels dcmprscu
transmits, checked byte for byte against what dcmprscp receives. The others print to printserver
and read the stored job back: attributes and pixels must be exactly those dcmprscu sent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import require_tool
from dcmtk_print import (
    DcmprscpServer,
    FilmOptions,
    PrinterProfile,
    expected_sent_pixels,
    free_port,
    pattern,
    render,
    spool,
    write_config,
    write_image,
)

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

