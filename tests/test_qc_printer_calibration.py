"""Printer calibration with a densitometer (issue 11, "Film printer calibration"): the step wedge
printed through our own Print SCU and SCP, readings entered, the curve and LUT stored as versions,
the next film rendered through the newest curve (drive values checked in its PDF pixels, and the
densities a simulated printer gives at them checked against the GSDF), Printer N-GET's Date / Time
of Last Calibration, and the records on both job store backends."""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
import pytest
from pypdf import PdfReader

from printserver.config import load_config
from printserver.errors import InputFileError, ParameterError
from printserver.gsdf.conformance import ReadingError
from printserver.gsdf.curves import PRINTER, parse_dcmtk, values_at_all_ddls
from printserver.gsdf.film_calibration import (WEDGE_DRIVE_LEVELS, check_wedge_readings,
                                               parse_wedge_csv, printer_calibration)
from printserver.gsdf.hardcopy import od_from_pvalues
from printserver.jobs.model import JobState
from printserver.jobs.printer_calibrations import PrinterCalibrations
from printserver.jobs.services import UnknownPrinterError
from printserver.layout.densities import DensityRange, to_milli_od
from printserver.layout.device import MeasuredPrinterProfile, PValueDriveProfile
from printserver.layout.job_render import calibration_profile
from printserver.layout.step_wedge import STEP_COUNT, measurement_area, step_pvalues
from printserver.qc import QCServices
from printserver.qc.errors import CalibrationNotApplicable, UnknownRecordError
from printserver.scu.images import ImageSource, pattern_image
from printserver.scu.session import FilmOptions, PrintSCU
import scp_fixtures

#: a paper printer whose film is exactly the 1024-pixel pattern wide (8 in at 128 dpi), with
#: REPLICATE magnification: pattern pixel (x, y) is film pixel (x, y + 128)
CONFIG = """
[workers]
count = 1
poll_interval = 0.05

[[printers]]
ae_title = "PAPER"
name = "paper printer"
film_sizes = ["8INX10IN"]
default_film_size = "8INX10IN"
resolution_dpi = { STANDARD = 128 }
default_magnification_type = "REPLICATE"
min_density = 20
max_density = 200
last_calibration_date = "20250102"
last_calibration_time = "030405"
image_box_gap_mm = 0.0

[[printers]]
ae_title = "FILM"
output = { kind = "dicom", called_aet = "NOBODY", host = "127.0.0.1", port = 9 }
"""
TOP = (1280 - 1024) // 2  # the pattern's first row on the 8 × 10 inch film


def simulated_od(ddl: np.ndarray | float) -> np.ndarray:
    """What the simulated paper printer prints at each drive level: 2.10 OD at 0, 0.10 at 255."""
    return 0.10 + 2.0 * (1.0 - np.asarray(ddl, dtype=np.float64) / 255.0) ** 1.8


def wedge_csv(by: str = "step") -> str:
    keys = range(1, STEP_COUNT + 1) if by == "step" else step_pvalues(8)
    rows = [f"{k},{od:.2f}" for k, od in zip(keys, simulated_od(WEDGE_DRIVE_LEVELS))]
    return f"{by},density\n" + "\n".join(rows) + "\n"


def wait_done(store, job_id: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.get(job_id)
        if job is not None and job.state in (JobState.DONE, JobState.FAILED):
            assert job.state is JobState.DONE, job.message
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not DONE within {timeout} s: {store.get(job_id)}")


def pdf_pixels(path: str) -> np.ndarray:
    page = PdfReader(path).pages[0]
    xobj = next(iter(page["/Resources"]["/XObject"].values())).get_object()
    return np.frombuffer(xobj.get_data(), np.uint8).reshape(int(xobj["/Height"]),
                                                            int(xobj["/Width"]))


def step_values(pixels: np.ndarray) -> list[int]:
    """The drive value of each step's measurement area (one value each, checked uniform)."""
    values = []
    for step in range(1, STEP_COUNT + 1):
        x0, y0, x1, y1 = measurement_area(1024, step)
        area = pixels[TOP + y0:TOP + y1, x0:x1]
        assert area.min() == area.max(), f"step {step} is not uniform"
        values.append(int(area[0, 0]))
    return values


def print_pattern(port: int, label: str) -> None:
    scu = PrintSCU("127.0.0.1", port, "PAPER", "MODALITY")
    source = ImageSource("pattern STEP-WEDGE", lambda: pattern_image("STEP-WEDGE", 8))
    result = scu.print([source], FilmOptions(film_session_label=label), fill_boxes=True)
    assert result.exit_status == 0, result.to_dict()


def printer_nget(port: int) -> tuple[str | None, str | None]:
    scu = scp_fixtures.PrintSCU(port, called="PAPER")
    try:
        response = scu.get(scp_fixtures.PRINTER, scp_fixtures.PRINTER_INSTANCE)
    finally:
        scu.release()
    assert response.status == 0
    ds = response.dataset
    return ds.get("DateOfLastCalibration"), ds.get("TimeOfLastCalibration")


@pytest.mark.slow
def test_step_wedge_readings_and_the_next_film_through_the_new_curve(print_scp_factory):
    srv = print_scp_factory(CONFIG)
    config = load_config(srv.config_path, data_dir=srv.data_dir, dicom_port=srv.port)
    store = srv.store()
    assert printer_nget(srv.port) == ("20250102", "030405")  # the configured values until then
    with QCServices.open(config) as qc:
        # 1. the wedge, through our own Print SCU and SCP, rendered uncalibrated
        printed = qc.printers.print_step_wedge("PAPER", "alice")
        wedge = printed.wedge
        assert wedge.job_id and printed.result["exit_status"] == 0
        job = wait_done(store, wedge.job_id)
        assert job.film_session_label == f"STEP WEDGE {wedge.wedge_id}"
        (film,) = store.films(job.job_id)
        assert film.calibration == f"uncalibrated step wedge {wedge.wedge_id}"
        assert step_values(pdf_pixels(film.pdf_files[0])) == WEDGE_DRIVE_LEVELS.tolist()

        # 2. the densitometer's readings (CSV by P-value), stored as version 1
        view = qc.printers.record("PAPER", {"readings_csv": wedge_csv("pvalue"),
                                            "wedge_id": wedge.wedge_id}, "alice")
        record = view.record
        assert (record.version, record.printer, record.created_by) == (1, "PAPER", "alice")
        assert record.dmin == pytest.approx(0.10) and record.dmax == pytest.approx(2.10)

        # 3. the next film of that printer: rendered through version 1
        print_pattern(srv.port, "CHECK FILM")
        checked = [j for j in store.list() if j.film_session_label == "CHECK FILM"]
        job2 = wait_done(store, checked[0].job_id)
        (film2,) = store.films(job2.job_id)
        assert film2.calibration == "version 1"
        drive = step_values(pdf_pixels(film2.pdf_files[0]))
        printer = config.printer("PAPER")
        target = od_from_pvalues(step_pvalues(8), 8, printer.min_density / 100,
                                 printer.max_density / 100, printer.illumination,
                                 printer.reflected_ambient_light)
        lut = calibration_profile(record.render_entry()).drive_lut()
        assert drive == [int(lut[to_milli_od(od)]) for od in target]  # the expected LUT, exactly
        # the simulated printer now prints the GSDF densities (within its drive level steps)
        assert np.max(np.abs(simulated_od(np.array(drive)) - target)) < 0.03
        assert drive != WEDGE_DRIVE_LEVELS.tolist()

        # 4. a newer version is applied from the next job on
        steeper = "step,density\n" + "".join(
            f"{s},{od:.2f}\n" for s, od in zip(range(1, 19), 0.05 + 1.3 * simulated_od(
                WEDGE_DRIVE_LEVELS) - 0.13))
        assert qc.printers.record("PAPER", {"readings_csv": steeper}, "bob").record.version == 2
        print_pattern(srv.port, "CHECK FILM 2")
        job3 = wait_done(store, [j for j in store.list()
                                 if j.film_session_label == "CHECK FILM 2"][0].job_id)
        assert store.films(job3.job_id)[0].calibration == "version 2"
        assert [r.version for r in qc.printers.history("PAPER")] == [2, 1]
        assert qc.printers.current("PAPER").record.created_by == "bob"
        newest = qc.printers.current("PAPER").record

    # 5. Printer N-GET: Date / Time of Last Calibration from the newest version, local time
    local = datetime.fromisoformat(newest.created_at).astimezone()
    assert printer_nget(srv.port) == (local.strftime("%Y%m%d"), local.strftime("%H%M%S"))


def test_a_modality_cannot_switch_its_film_to_uncalibrated(job_store):
    calibrations = PrinterCalibrations(job_store.db)
    assert calibrations.for_render("PAPER", "STEP WEDGE 0123456789AB") is None
    wedge = calibrations.add_wedge("PAPER", "alice")
    assert calibrations.for_render("PAPER", wedge.film_session_label) == {
        "mode": "uncalibrated", "label": f"uncalibrated step wedge {wedge.wedge_id}"}
    # the same label on another printer, or an unknown id, is an ordinary film
    assert calibrations.for_render("OTHER", wedge.film_session_label) is None
    assert calibrations.for_render("PAPER", "STEP WEDGE FFFFFFFFFFFF") is None


def _add(calibrations: PrinterCalibrations, printer: str, actor: str):
    readings = check_wedge_readings(range(1, 19), np.round(simulated_od(WEDGE_DRIVE_LEVELS), 2))
    a = printer_calibration(readings, 2000, 10)
    return calibrations.add(printer, actor, readings=readings.density.tolist(),
                            ddl=a.curve.ddl.tolist(), od=a.curve.values.tolist(), max_ddl=255,
                            illumination=2000, ambient=10, dmin=a.dmin, dmax=a.dmax,
                            lut=a.lut.output.tolist())


def test_versions_per_printer_newest_applied(job_store):
    calibrations = PrinterCalibrations(job_store.db)
    assert calibrations.newest("PAPER") is None and calibrations.last_calibrated("PAPER") is None
    first = _add(calibrations, "PAPER", "alice")
    second = _add(calibrations, "PAPER", "bob")
    other = _add(calibrations, "FILM2", "carol")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert calibrations.newest("PAPER") == second
    assert calibrations.get("PAPER", 1) == first
    assert [r.version for r in calibrations.history("PAPER")] == [2, 1]
    entry = calibrations.for_render("PAPER", "")
    assert entry["label"] == "version 2" and entry["ddl"] == list(second.ddl)
    assert calibrations.last_calibrated("PAPER") == datetime.fromisoformat(second.created_at)
    assert len(second.lut) == 256 and second.to_dict()["label"] == "version 2"


def test_the_renderer_applies_a_stored_curve_and_the_wedge_profile():
    readings = check_wedge_readings(range(1, 19), np.round(simulated_od(WEDGE_DRIVE_LEVELS), 2))
    a = printer_calibration(readings, 2000, 10)
    entry = {"mode": "curve", "label": "version 7", "ddl": a.curve.ddl.tolist(),
             "od": a.curve.values.tolist(), "max_ddl": 255, "illumination": 2000, "ambient": 10}
    lut = calibration_profile(entry).drive_lut()
    assert np.array_equal(lut, MeasuredPrinterProfile(a.curve).drive_lut())
    for od in (0.2, 1.0, 2.0):  # the simulated printer gives the film's density back
        assert abs(simulated_od(lut[to_milli_od(od)]) - od) < 0.02
    # the wedge profile: each P-value (8 bits) reaches the device as that drive level
    density = DensityRange(0.2, 3.0, 2000.0, 10.0)
    raw = PValueDriveProfile(density).drive_lut()
    pvalues = step_pvalues(8)
    od = od_from_pvalues(pvalues, 8, 0.2, 3.0)
    assert [int(raw[to_milli_od(v)]) for v in od] == pvalues.tolist()


def test_wedge_readings_refused_with_the_field_or_line():
    good = simulated_od(WEDGE_DRIVE_LEVELS).round(2)
    with pytest.raises(ReadingError, match=r"readings\[4\]\.density.*must not rise"):
        bad = good.copy()
        bad[4] = bad[3] + 0.1
        check_wedge_readings(range(1, 19), bad)
    with pytest.raises(ReadingError, match=r"readings: missing step 18"):
        check_wedge_readings(range(1, 18), good[:17])
    with pytest.raises(ReadingError, match=r"readings\[2\]\.density: density -0.5"):
        bad = good.copy()
        bad[2] = -0.5
        check_wedge_readings(range(1, 19), bad)
    with pytest.raises(ReadingError, match=r"readings\[0\]\.pvalue: P-value 7 is not a step"):
        check_wedge_readings([7] + step_pvalues(8)[1:].tolist(), good, by="pvalue")
    with pytest.raises(InputFileError, match=r"densities.csv:4: .*step 3 given twice"):
        parse_wedge_csv("step,density\n1,2.1\n3,1.5\n3,1.4\n", "densities.csv")
    with pytest.raises(InputFileError, match=r"x.csv:1: header must be 'step,density'"):
        parse_wedge_csv("ddl,od\n0,2\n", "x.csv")
    # equal readings (a saturating printer) are accepted, and the curve still interpolates
    flat = good.copy()
    flat[1] = flat[0]
    curve = printer_calibration(check_wedge_readings(range(1, 19), flat), 2000, 10).curve
    assert curve.is_monotonic() and np.all(np.diff(values_at_all_ddls(curve)) < 0)


def test_service_refuses_bad_input_and_keeps_what_is_stored(job_store, tmp_path):
    from printserver.config import Config, OutputConfig, PrinterConfig

    config = Config(data_dir=tmp_path, printers=(
        PrinterConfig("PAPER"), PrinterConfig("FILM", output=OutputConfig(kind="dicom"))))
    qc = QCServices(config, job_store)
    first = qc.printers.record("PAPER", {"readings_csv": wedge_csv()}, "alice")
    rising = wedge_csv().splitlines()
    rising[5] = "5,2.50"  # line 6: step 5 darker than step 4
    with pytest.raises(InputFileError, match=r"densities.csv:6: .*must not rise"):
        qc.printers.record("PAPER", {"readings_csv": "\n".join(rising)}, "alice")
    with pytest.raises(ParameterError, match=r"wedge_id: no step wedge"):
        qc.printers.record("PAPER", {"readings_csv": wedge_csv(), "wedge_id": "NOPE"}, "alice")
    with pytest.raises(ParameterError, match=r"readings: give the readings or a CSV"):
        qc.printers.record("PAPER", {"readings_csv": wedge_csv(), "readings": [[1, 2.0]]}, "a")
    with pytest.raises(ReadingError, match=r"readings\[1\]\.density: must be a number"):
        qc.printers.record("PAPER", {"readings": [{"step": 1, "density": 2.1},
                                                  {"step": 2, "density": "dark"}]}, "alice")
    with pytest.raises(CalibrationNotApplicable, match="FILM sends its films to a dicom output"):
        qc.printers.record("FILM", {"readings_csv": wedge_csv()}, "alice")
    with pytest.raises(UnknownPrinterError):
        qc.printers.record("NOPE", {"readings_csv": wedge_csv()}, "alice")
    with pytest.raises(UnknownRecordError):
        qc.printers.get("PAPER", 9)
    assert [r.version for r in qc.printers.history("PAPER")] == [1]
    assert qc.printers.current("PAPER").record == first.record
    # downloads: the curve as DCMTK text reads back as the same curve
    text = qc.calibration_download("PAPER", 1, "curve-dcmtk").content.decode()
    curve = parse_dcmtk(text, PRINTER)
    assert curve.ddl.tolist() == list(first.record.ddl)
    assert np.allclose(curve.values, first.record.od)
    assert (curve.illumination, curve.ambient) == (2000.0, 10.0)
    lut = qc.calibration_download("PAPER", 1, "lut-csv").content.decode().splitlines()
    assert lut[0] == "input,output" and len(lut) == 257
    densities = qc.calibration_download("PAPER", 1, "readings").content.decode()
    assert np.allclose(parse_wedge_csv(densities).density, first.record.readings)
