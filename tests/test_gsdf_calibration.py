"""Characteristic files, calibration LUTs and the ``printserver gsdf`` CLI, including interoperability
with DCMTK's reference implementation ``dcmdspfn`` (PS3.14)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import require_tool
from printserver.cli import main
from printserver.errors import InputFileError, ParameterError
from printserver.gsdf.calibration import calibration_lut, input_levels
from printserver.gsdf.curves import (CharacteristicCurve, device_luminance, read_characteristic_file,
                                     values_at_all_ddls)
from printserver.gsdf.gsdf import jnd_from_luminance

DCMTK_DATA = next((p for p in sorted(Path("/usr/share").glob("dcmtk*")) if (p / "monitor.lut").exists()),
                  Path("/usr/share/dcmtk"))


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["gsdf", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(text: str) -> tuple[list[str], np.ndarray]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array(rows[1:], dtype=np.float64)


def dcmdspfn_table(tmp_path: Path, *options: str) -> np.ndarray:
    """Run dcmdspfn, writing its GSDF table (+Og); return the numeric rows."""
    out = tmp_path / "dcmdspfn.txt"
    subprocess.run([require_tool("dcmdspfn"), *options, "+Og", str(out)], check=True,
                   capture_output=True, timeout=60)
    rows = [line.split() for line in out.read_text().splitlines() if line[:1].isdigit()]
    return np.array(rows, dtype=np.float64)


# -- DCMTK interoperability ----------------------------------------------------------------------

@pytest.mark.dcmtk
@pytest.mark.parametrize("levels", [256, 1024])
def test_curve_lum_range_agrees_with_dcmtk(tmp_path, capsys, levels):
    reference = dcmdspfn_table(tmp_path, "+Il", "0.5", "400", "+Cd", str(levels))
    code, out, _ = run_cli(capsys, "curve", "--lum-range", "0.5", "400", "--levels", str(levels))
    assert code == 0
    header, ours = read_csv(out)
    assert header == ["ddl", "jnd", "luminance"]
    assert ours.shape == (levels, 3) and np.array_equal(ours[:, 0], reference[:, 0])
    relative = np.abs(ours[:, 2] / reference[:, 1] - 1)
    assert relative[1:-1].max() < 1e-4
    assert relative[[0, -1]].max() < 3e-3
    # our documented end-point method pins the ends to the requested range
    assert ours[0, 2] == pytest.approx(0.5, rel=1e-9) and ours[-1, 2] == pytest.approx(400, rel=1e-9)


@pytest.mark.dcmtk
def test_curve_od_range_agrees_with_dcmtk(tmp_path, capsys):
    reference = dcmdspfn_table(tmp_path, "+Io", "0.20", "3.00", "+Ci", "2000", "+Ca", "10")
    code, out, _ = run_cli(capsys, "curve", "--od-range", "0.20", "3.00")
    assert code == 0
    header, ours = read_csv(out)
    assert header == ["ddl", "jnd", "luminance", "od"]
    assert np.abs(ours[1:-1, 2] / reference[1:-1, 1] - 1).max() < 1e-4
    assert ours[0, 3] == pytest.approx(3.0) and ours[-1, 3] == pytest.approx(0.2)
    assert ours[128, 3] == pytest.approx(1.122, abs=0.002)  # PS3.14 Table D.2-1


@pytest.mark.dcmtk
@pytest.mark.parametrize("option, name, kind", [("+Im", "monitor.lut", "monitor-file"),
                                                ("+Ip", "printer.lut", "printer-file")])
def test_lut_picks_the_same_device_levels_as_dcmtk(tmp_path, capsys, option, name, kind):
    path = DCMTK_DATA / name
    # dcmdspfn writes DDL, CC (device curve), GSDF (target), PSC (device after its LUT): its LUT is
    # recovered as the DDL whose CC value equals the PSC value
    table = dcmdspfn_table(tmp_path, option, str(path))
    cc, psc = table[:, 1], table[:, 3]
    dcmtk_lut = np.abs(cc[None, :] - psc[:, None]).argmin(axis=1)
    code, out, _ = run_cli(capsys, "lut", f"--{kind}", str(path))
    assert code == 0
    header, ours = read_csv(out)
    assert header == ["input", "output"]
    assert np.array_equal(ours[:, 0], np.arange(len(dcmtk_lut)))
    assert np.abs(ours[:, 1] - dcmtk_lut).max() <= 1
    # the device curve we model matches DCMTK's (cubic/polynomial fit of the same file)
    curve = read_characteristic_file(path, kind.split("-")[0])
    assert np.allclose(device_luminance(curve), cc, rtol=1e-5)


# -- characteristic files ------------------------------------------------------------------------

def test_read_dcmtk_sample_files():
    monitor = read_characteristic_file(DCMTK_DATA / "monitor.lut", "monitor")
    assert (monitor.max_ddl, monitor.ambient, monitor.order, monitor.ddl.size) == (255, 1.0, 0, 256)
    printer = read_characteristic_file(DCMTK_DATA / "printer.lut", "printer")
    assert (printer.max_ddl, printer.ambient, printer.illumination, printer.order) == (255, 10.0, 2000.0, 5)
    assert printer.values[0] == 3.00 and printer.values[-1] == 0.19


def test_read_csv_and_interpolate_monotonically(tmp_path):
    path = tmp_path / "wedge.csv"
    path.write_text("ddl,od\n0,3.1\n64,1.9\n128,1.0\n192,0.45\n255,0.15\n")
    curve = read_characteristic_file(path, "printer")
    assert curve.max_ddl == 255 and curve.order == 0
    od = values_at_all_ddls(curve)
    assert od[[0, 128, 255]] == pytest.approx([3.1, 1.0, 0.15], abs=1e-12)
    assert np.all(np.diff(od) < 0)  # PCHIP keeps the measured monotony, no overshoot


MALFORMED = [
    ("max 255\n0 3.0\n255 abc\n", 3, "must be a number"),
    ("# no max\n0 3.0\n255 0.2\n", 2, "before the keyword 'max'"),
    ("max 255\nfoo 2\n0 3.0\n255 0.2\n", 2, "unknown keyword"),
    ("max 255\n0 3.0\n128 1.0\n100 1.5\n255 0.2\n", 4, "increasing order"),
    ("max 255\n0 3.0\n300 0.2\n", 3, "outside 0 … 255"),
    ("max 255\n0 3.0 7\n255 0.2\n", 2, "expected a keyword"),
    ("max 255\nord 1.5\n0 3.0\n255 0.2\n", 2, "must be an integer"),
    ("max 255\n0 -3.0\n255 0.2\n", 2, "negative"),
]


@pytest.mark.parametrize("text, line, reason", MALFORMED)
def test_malformed_dcmtk_file_names_file_line_and_reason(tmp_path, text, line, reason):
    path = tmp_path / "bad.lut"
    path.write_text(text)
    with pytest.raises(InputFileError) as err:
        read_characteristic_file(path, "printer")
    assert err.value.line == line and reason in err.value.reason
    assert str(err.value).startswith(f"{path}:{line}: ")


def test_malformed_csv_names_file_line_and_reason(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("ddl,luminance\n0,0.5\n128,x\n255,300\n")
    with pytest.raises(InputFileError, match=r"bad\.csv:3: luminance must be a number"):
        read_characteristic_file(path, "monitor")
    path.write_text("ddl,od\n0,0.5\n")
    with pytest.raises(InputFileError, match="header must be 'ddl,luminance'"):
        read_characteristic_file(path, "monitor")


# -- calibration LUTs ----------------------------------------------------------------------------

def synthetic_monitor(levels: int = 256, gamma: float = 2.2) -> CharacteristicCurve:
    ddl = np.arange(levels)
    lum = 0.8 + 350.0 * (ddl / (levels - 1)) ** gamma
    return CharacteristicCurve("monitor", ddl, lum, levels - 1)


@pytest.mark.parametrize("bits", [8, 10, 12, 16])
def test_calibrated_monitor_follows_gsdf(bits):
    curve = synthetic_monitor(1024)
    lut = calibration_lut(curve, bits=bits)
    assert lut.levels == 1 << bits
    assert lut.output[0] == 0 and lut.output[-1] == 1023
    assert np.all(np.diff(lut.output) >= 0)
    # equal JND steps: achieved JND index within one device step of the target's
    achieved_j = jnd_from_luminance(lut.achieved)
    target_j = jnd_from_luminance(lut.target)
    device_step_j = np.diff(jnd_from_luminance(device_luminance(curve))).max()
    assert np.abs(achieved_j - target_j).max() <= device_step_j / 2 + 0.1


@pytest.mark.parametrize("bits", [7, 17, 0])
def test_calibration_bits_outside_8_to_16_name_the_parameter(bits):
    with pytest.raises(ParameterError) as err:
        calibration_lut(synthetic_monitor(), bits=bits)
    assert err.value.parameter == "bits"
    with pytest.raises(ParameterError, match="levels"):
        input_levels(levels=1000)


def test_non_monotonic_curves_are_refused_naming_the_parameter():
    lum = np.linspace(1, 300, 256)
    lum[100] = 500.0
    curve = CharacteristicCurve("monitor", np.arange(256), lum, 255)
    with pytest.raises(ParameterError) as err:
        calibration_lut(curve)
    assert err.value.parameter == "luminance"
    sparse = CharacteristicCurve("printer", [0, 100, 150, 255], [3.0, 1.0, 1.5, 0.2], 255)
    with pytest.raises(ParameterError) as err:
        values_at_all_ddls(sparse)
    assert err.value.parameter == "od" and "not monotonic" in str(err.value)


# -- CLI errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, fragment", [
    (["curve", "--od-range", "3.0", "0.2"], "min_density"),
    (["curve", "--od-range", "0.2", "3.0", "--illumination", "0"], "illumination"),
    (["curve", "--lum-range", "400", "0.5"], "lmax"),
    (["curve", "--lum-range", "0.5", "400", "--levels", "1"], "levels: must be 2 … 65536"),
    (["lut", "--printer-file", "/nonexistent/printer.lut"], "/nonexistent/printer.lut"),
    (["lut", "--monitor-file", str(DCMTK_DATA / "monitor.lut"), "--levels", "128"], "levels"),
    (["lut", "--printer-file", str(DCMTK_DATA / "printer.lut"), "--illumination", "-1"],
     "illumination: must be > 0"),
    (["lut", "--monitor-file", str(DCMTK_DATA / "monitor.lut"), "--illumination", "100"],
     "--illumination: only applies to --printer-file"),
])
def test_cli_errors_are_one_line_with_exit_2(capsys, argv, fragment):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("printserver: error: ") and fragment in err
    assert "Traceback" not in err


def test_cli_malformed_file_message_has_file_line_and_reason(tmp_path, capsys):
    path = tmp_path / "monitor.lut"
    path.write_text("max 255\n0 0.5\n255 oops\n")
    code, _, err = run_cli(capsys, "lut", "--monitor-file", str(path))
    assert code == 2 and err == f"printserver: error: {path}:3: luminance must be a number; got 'oops'\n"


def test_cli_writes_output_file(tmp_path, capsys):
    target = tmp_path / "lut.csv"
    code, out, _ = run_cli(capsys, "lut", "--printer-file", str(DCMTK_DATA / "printer.lut"),
                           "--levels", "4096", "--output", str(target))
    assert code == 0 and out == ""
    header, rows = read_csv(target.read_text())
    assert header == ["input", "output"] and rows.shape == (4096, 2)
    assert rows[0, 1] == 0 and np.all(np.diff(rows[:, 1]) >= 0)


def test_cli_module_run_prints_one_line_and_exits_2():
    result = subprocess.run([sys.executable, "-m", "printserver", "gsdf", "curve", "--od-range", "0.2", "3.0",
                             "--ambient", "-1"], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "printserver: error: reflected_ambient_light: must be ≥ 0 cd/m²; got -1"]


def test_cli_lut_from_a_csv_step_wedge(tmp_path, capsys):
    path = tmp_path / "wedge.csv"
    path.write_text("# paper printer step wedge\nddl,od\n0,2.10\n32,1.60\n64,1.20\n96,0.90\n128,0.66\n"
                    "160,0.46\n192,0.30\n224,0.17\n255,0.08\n")
    code, out, _ = run_cli(capsys, "lut", "--printer-file", str(path), "--ambient", "0",
                           "--illumination", "150")
    assert code == 0
    _, rows = read_csv(out)
    assert rows.shape == (256, 2) and rows[0, 1] == 0 and rows[-1, 1] == 255
    assert np.all(np.diff(rows[:, 1]) >= 0)
    # the printed densities of the LUT follow the paper GSDF of §7.3 within one device step
    from printserver.gsdf.hardcopy import od_from_pvalues
    curve = read_characteristic_file(path, "printer")
    device_od = values_at_all_ddls(curve)
    target_od = od_from_pvalues(np.arange(256), 8, 0.08, 2.10, 150.0, 0.0)
    assert np.abs(device_od[rows[:, 1].astype(int)] - target_od).max() < 0.04
