"""Display QC maths: the TG18 18-point luminance response test (κ against the GSDF), the ambient and
uniformity criteria, reading validation and the display's calibration LUT (AAPM TG18 / TG270,
PS3.14; the method is pacsDisplay's, ../shared/reference/display-qc.md §2)."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import require_tool
from printserver.cli import main
from printserver.errors import InputFileError, ParameterError
from printserver.gsdf.conformance import (LN8_LEVELS, LN12_LEVELS, ReadingError, check_readings,
                                          evaluate_display, luminance_response)
from printserver.gsdf.curves import read_characteristic_file
from printserver.gsdf.display_lut import argyll_cal, dcmtk_characteristic, display_lut, lut_csv
from printserver.gsdf.qc_limits import DEFAULT_LIMITS, DisplayClass, QCLimits
from printserver.gsdf.readings import parse_readings_csv, readings_csv
from printserver.gsdf.uniformity import evaluate_uniformity

# -- an independent reference: PS3.14 eq. 7-1 / 7-2 typed in again, plain Python ------------------

_EQ71 = (-1.3011877, -2.5840191e-2, 8.0242636e-2, -1.0320229e-1, 1.3646699e-1, 2.8745620e-2,
         -2.5468404e-2, -3.1978977e-3, 1.2992634e-4, 1.3635334e-3)
_EQ72 = (71.498068, 94.593053, 41.912053, 9.8247004, 0.28175407, -1.1878455, -0.18014349,
         0.14710899, -0.017046845)


def ref_l(j: float) -> float:
    a, b, c, d, e, f, g, h, k, m = _EQ71
    x = math.log(j)
    return 10 ** ((a + c * x + e * x**2 + g * x**3 + m * x**4)
                  / (1 + b * x + d * x**2 + f * x**3 + h * x**4 + k * x**5))


def ref_j(lum: float) -> float:
    y = math.log10(lum)
    return sum(c * y**n for n, c in enumerate(_EQ72))


def ref_kappa(ddl, lum, amb):
    """κ per interval, step by step as pacsDisplay's lumR-evalQClr does (display-qc.md §2)."""
    lp = [x + amb for x in lum]
    jmin, jmax = ref_j(lp[0]), ref_j(lp[-1])
    jpp = (jmax - jmin) / (ddl[-1] - ddl[0])
    out = []
    for k in range(1, len(ddl)):
        dj = (ddl[k] - ddl[k - 1]) * jpp
        measured = 2 * (lp[k] - lp[k - 1]) / (lp[k] + lp[k - 1]) / dj
        g1, g0 = ref_l(jmin + (ddl[k] - ddl[0]) * jpp), ref_l(jmin + (ddl[k - 1] - ddl[0]) * jpp)
        expected = 2 * (g1 - g0) / (g1 + g0) / dj
        out.append((measured - expected) / expected)
    return out


# -- three displays, measured with Lamb = 0.25 cd/m² ---------------------------------------------

AMBIENT = 0.25
P8 = [int(p) for p in LN8_LEVELS]


def ref_j_array(lum):
    return np.array([ref_j(float(x)) for x in lum])


def gsdf_display(lmin_prime=0.75, lmax_prime=400.0, ambient=AMBIENT):
    """Readings (without ambient) of a display that follows the GSDF, to 4 significant digits."""
    jmin, jmax = ref_j(lmin_prime), ref_j(lmax_prime)
    lp = [ref_l(jmin + p * (jmax - jmin) / 255) for p in P8]
    lp[0], lp[-1] = lmin_prime, lmax_prime
    return [float(f"{x - ambient:.4g}") for x in lp]


#: follows the GSDF except DDL 120 reads 2.5 % bright: intervals 105→120 and 120→135 get κ of
#: +7.5 % and −8.0 %
PASSES_10 = gsdf_display()
PASSES_10[8] = round(PASSES_10[8] * 1.025, 3)
#: DDL 120 reads 5 % bright: κ +14.9 % / −15.8 %, fails ±10 % but passes ±20 %
PASSES_20 = gsdf_display()
PASSES_20[8] = round(PASSES_20[8] * 1.05, 3)
#: an uncalibrated gamma-2.2 display, 0.5 … 350.5 cd/m²
GAMMA_22 = [round(0.5 + 350.0 * (p / 255) ** 2.2, 3) for p in P8]


def test_total_jnds_and_ratio_of_a_1_to_350_display():
    lum = gsdf_display(1.0, 350.0, ambient=0.0)
    r = luminance_response(check_readings(P8, lum))
    # pacsDisplay: "~600 (581.6 if numbers exact)"; the reference digest computes 581.617
    assert r.total_jnd == pytest.approx(581.617, abs=0.01)
    assert r.jnd_per_gray_level == pytest.approx(581.617 / 255, abs=1e-4)
    assert r.luminance_ratio == pytest.approx(350.0)
    assert r.max_abs_kappa < 0.002  # 4 significant digits of a GSDF display


@pytest.mark.parametrize("lum", [PASSES_10, PASSES_20, GAMMA_22], ids=["pass10", "pass20", "gamma22"])
def test_kappa_equals_the_step_by_step_reference(lum):
    r = luminance_response(check_readings(P8, lum, AMBIENT))
    assert r.kappa.shape == (17,)
    assert r.kappa == pytest.approx(ref_kappa(P8, lum, AMBIENT), abs=1e-9)


def test_display_within_10_percent_passes_as_primary():
    e = evaluate_display(P8, PASSES_10, AMBIENT, "primary")
    k = e.response.kappa
    assert k[7] == pytest.approx(0.0753, abs=5e-4) and k[8] == pytest.approx(-0.0800, abs=5e-4)
    assert np.abs(np.delete(k, [7, 8])).max() < 0.002  # the rest follows the GSDF
    assert e.response.max_abs_kappa < 0.10 and e.response.worst_interval == (120, 135)
    assert e.passed and e.as_dict()["pass"] is True
    assert e.response.lmax_prime == pytest.approx(400.0, abs=0.1)
    assert e.response.lmin_prime == pytest.approx(0.75, abs=1e-6)
    assert e.response.luminance_ratio == pytest.approx(400.05 / 0.75)
    assert e.response.ambient_ratio == pytest.approx(0.5)  # Lamb/Lmin = 0.25/0.5
    assert e.response.ambient_fraction == pytest.approx(1 / 3)
    # 0.5 is within the 2/3 limit but above the recommended 1/4: a warning, not a failure
    assert [w.split(":")[0] for w in e.warnings] == ["recommended_ambient_ratio"]


def test_display_within_20_percent_fails_primary_and_passes_secondary():
    primary = evaluate_display(P8, PASSES_20, AMBIENT, "primary")
    k = primary.response.kappa
    assert k[7] == pytest.approx(0.1488, abs=5e-4) and k[8] == pytest.approx(-0.1584, abs=5e-4)
    assert 0.10 < primary.response.max_abs_kappa < 0.20
    assert not primary.passed
    failed = {c.name for c in primary.checks if c.passed is False}
    assert failed == {"contrast_response", "recommended_ambient_ratio"}
    secondary = evaluate_display(P8, PASSES_20, AMBIENT, "secondary")
    assert secondary.passed and secondary.limits.contrast_response == 0.20


def test_gamma_22_display_fails_both_classes():
    for cls in ("primary", "secondary"):
        e = evaluate_display(P8, GAMMA_22, AMBIENT, cls)
        assert not e.passed
    k = e.response.kappa
    # dark steps far too large, bright steps far too small: the signature of a gamma display
    assert k[1] > 0.4 and k[-1] < -0.4 and e.response.max_abs_kappa > 0.5


def test_the_12_bit_level_set_gives_the_same_kappa_as_the_8_bit_set():
    e8 = evaluate_display(P8, PASSES_20, AMBIENT)
    e12 = evaluate_display(LN12_LEVELS, PASSES_20, AMBIENT)
    assert e12.response.readings.level_set == "TG18-LN12"
    assert e12.response.kappa == pytest.approx(e8.response.kappa, abs=1e-12)
    assert e12.response.jnd_per_gray_level == pytest.approx(e8.response.jnd_per_gray_level / 16)


def test_an_arbitrary_level_set():
    levels = [0, 64, 128, 192, 255]
    lum = [0.5 + 350.0 * (p / 255) ** 2.2 for p in levels]
    e = evaluate_display(levels, lum, 0.0, levels=levels)
    assert e.response.readings.level_set == "custom" and e.response.kappa.shape == (4,)
    assert e.response.kappa == pytest.approx(ref_kappa(levels, lum, 0.0), abs=1e-9)


def test_readings_in_any_order_give_the_same_result():
    shuffled = list(range(18))[::-1]
    e = evaluate_display([P8[i] for i in shuffled], [PASSES_10[i] for i in shuffled], AMBIENT)
    assert e.response.kappa == pytest.approx(evaluate_display(P8, PASSES_10, AMBIENT).response.kappa)


def test_luminance_ratio_and_lmax_limits():
    dim = gsdf_display(0.2, 60.0, ambient=0.0)  # LR' 300 but L'max 60 cd/m²
    e = evaluate_display(P8, dim, 0.0, "primary")
    by_name = {c.name: c for c in e.checks}
    assert by_name["contrast_response"].passed
    assert by_name["min_lmax_prime"].passed is False and by_name["min_luminance_ratio"].passed
    low_ratio = gsdf_display(2.0, 300.0, ambient=0.0)  # LR' 150
    e = evaluate_display(P8, low_ratio, 0.0, "primary")
    assert {c.name for c in e.checks if c.passed is False} == {"min_luminance_ratio"}
    assert evaluate_display(P8, low_ratio, 0.0, "secondary").passed


@pytest.mark.parametrize("ambient, limit_ok, recommended_ok", [
    (0.1, True, True),      # Lamb/Lmin = 0.2  < 1/4
    (0.2, True, False),     # 0.4: above 1/4, below 2/3
    (0.35, False, False),   # 0.7 > 2/3
])
def test_ambient_ratio_criteria(ambient, limit_ok, recommended_ok):
    lum = gsdf_display(0.5 + ambient, 400.0 + ambient, ambient=ambient)
    lum[0] = 0.5
    e = evaluate_display(P8, lum, ambient)
    by_name = {c.name: c for c in e.checks}
    assert by_name["max_ambient_ratio"].passed is limit_ok
    assert by_name["recommended_ambient_ratio"].passed is recommended_ok
    assert by_name["recommended_ambient_ratio"].kind == "recommendation"
    assert e.passed is limit_ok


def test_limits_are_configurable_and_checked():
    strict = QCLimits.for_class("primary").with_overrides({"contrast_response": 0.05})
    assert not evaluate_display(P8, PASSES_10, AMBIENT, limits=strict).passed
    off = QCLimits.for_class("primary").with_overrides({"contrast_response": None,
                                                        "max_ambient_ratio": None})
    e = evaluate_display(P8, GAMMA_22, AMBIENT, limits=off)
    check = next(c for c in e.checks if c.name == "contrast_response")
    assert check.passed is None and e.passed  # gamma display passes when κ is not judged
    with pytest.raises(ParameterError) as err:
        QCLimits().with_overrides({"contrast": 0.1})
    assert err.value.parameter == "contrast"
    with pytest.raises(ParameterError) as err:
        QCLimits(min_luminance_ratio=-1)
    assert err.value.parameter == "min_luminance_ratio"
    assert DEFAULT_LIMITS[DisplayClass.SECONDARY].contrast_response == 0.20
    with pytest.raises(ParameterError, match="display_class"):
        evaluate_display(P8, PASSES_10, display_class="tertiary")


def test_json_has_the_contract_keys():
    d = evaluate_display(P8, GAMMA_22, AMBIENT).as_dict()
    for key in ("lmax_prime", "lmin_prime", "luminance_ratio", "kappa", "max_abs_kappa", "pass",
                "ambient_ratio", "total_jnd", "jnd_per_gray_level", "levels", "intervals", "checks"):
        assert key in d, key
    assert len(d["kappa"]) == 17 and len(d["levels"]) == 18 and d["pass"] is False
    assert d["max_abs_kappa"] == max(abs(k) for k in d["kappa"])
    zero_lmin = list(GAMMA_22)
    zero_lmin[0] = 0.0
    d = evaluate_display(P8, zero_lmin, AMBIENT).as_dict()
    assert d["ambient_ratio"] is None  # Lamb/0: infinite, shown as null, and failing
    assert next(c for c in d["checks"] if c["name"] == "max_ambient_ratio")["passed"] is False


# -- invalid readings: refused, naming the reading ----------------------------------------------

def _with(index, value, lum=None):
    lum = list(PASSES_10 if lum is None else lum)
    lum[index] = value
    return lum


@pytest.mark.parametrize("ddl, lum, parameter, fragment", [
    (P8, _with(5, PASSES_10[3]), "readings[5].luminance", "must not decrease"),
    (P8, _with(2, -0.1), "readings[2].luminance", "negative luminance"),
    (P8, _with(4, float("nan")), "readings[4].luminance", "must be a number"),
    (P8, _with(4, float("inf")), "readings[4].luminance", "must be a number"),
    (P8[:-1], PASSES_10[:-1], "readings", "missing DDL 255"),
    (P8[:9] + P8[10:], PASSES_10[:9] + PASSES_10[10:], "readings", "missing DDL 135"),
    (P8 + [120], PASSES_10 + [PASSES_10[8]], "readings[18].ddl", "DDL 120 given twice"),
    (P8[:5] + [61] + P8[6:], PASSES_10, "readings[5].ddl", "not a level of TG18-LN8"),
    (P8[:5] + [60.5] + P8[6:], PASSES_10, "readings[5].ddl", "must be an integer"),
    (P8, PASSES_10[:-1], "readings", "equal length"),
    (P8, [PASSES_10[0]] * 18, "readings", "does not increase"),
])
def test_invalid_readings_name_the_field(ddl, lum, parameter, fragment):
    with pytest.raises(ReadingError) as err:
        check_readings(ddl, lum, AMBIENT)
    assert err.value.parameter == parameter
    assert fragment in str(err.value)


def test_missing_level_message_says_what_the_set_needs():
    with pytest.raises(ReadingError, match=r"TG18-LN8 needs 18 readings at DDL 0, 15, …, 255; got 17"):
        check_readings(P8[1:], PASSES_10[1:])


def test_black_without_ambient_light_is_below_the_gsdf():
    lum = _with(0, 0.0)
    with pytest.raises(ReadingError) as err:
        check_readings(P8, lum, 0.0)
    assert err.value.parameter == "readings[0].luminance" and "ambient" in str(err.value)
    assert check_readings(P8, lum, AMBIENT).luminance_prime[0] == AMBIENT


def test_flat_step_is_evaluated_and_fails():
    clipped = _with(16, PASSES_10[17])  # DDL 240 as bright as 255
    e = evaluate_display(P8, clipped, AMBIENT, "secondary")
    assert e.response.kappa[-1] == pytest.approx(-1.0) and not e.passed


@pytest.mark.parametrize("ambient", [-0.1, float("nan"), "x"])
def test_bad_ambient_names_ambient(ambient):
    with pytest.raises(ParameterError) as err:
        check_readings(P8, PASSES_10, ambient)
    assert err.value.parameter == "ambient"


# -- CSV ------------------------------------------------------------------------------------------

def test_csv_round_trip():
    text = "# display RAD-3\n" + readings_csv(P8, PASSES_10)
    readings = parse_readings_csv(text, "r.csv", AMBIENT)
    assert readings.ddl.tolist() == P8 and readings.luminance.tolist() == PASSES_10


@pytest.mark.parametrize("body, line, fragment", [
    ("ddl,lum\n0,1\n", 1, "header must be 'ddl,luminance'"),
    ("ddl,luminance\n0,0.5\n15,abc\n", 3, "luminance must be a number"),
    ("ddl,luminance\n0,0.5,7\n", 2, "expected 2 columns"),
    ("ddl,luminance\n0,0.5\n15.5,1\n", 3, "ddl must be an integer"),
    ("", None, "empty file"),
])
def test_malformed_csv_names_the_line(body, line, fragment):
    with pytest.raises(InputFileError) as err:
        parse_readings_csv(body, "r.csv")
    assert err.value.line == line and fragment in err.value.reason


def test_invalid_readings_in_a_csv_name_the_line():
    rows = [f"{p},{lum}" for p, lum in zip(P8, PASSES_10)]
    rows[6] = f"90,{PASSES_10[3]}"  # non-monotonic at DDL 90, on line 2 + 6 + 1 (comment, header)
    with pytest.raises(InputFileError) as err:
        parse_readings_csv("# comment\nddl,luminance\n" + "\n".join(rows) + "\n", "r.csv", AMBIENT)
    assert err.value.line == 9 and "must not decrease" in err.value.reason
    assert str(err.value).startswith("r.csv:9: readings[6].luminance:")
    with pytest.raises(InputFileError) as err:
        parse_readings_csv("ddl,luminance\n" + "\n".join(rows[:-1]) + "\n", "r.csv", AMBIENT)
    assert err.value.line is None and "missing DDL 255" in err.value.reason


# -- uniformity -----------------------------------------------------------------------------------

def test_uniformity_five_points_by_hand():
    # centre 100, corners 90, 85, 80, 95: 200·(100 − 80)/(100 + 80) = 22.2 %; median 90 → 11.1 %
    u = evaluate_uniformity([100, 90, 85, 80, 95])
    assert u.max_deviation == pytest.approx(40 / 180) and u.median_deviation == pytest.approx(10 / 90)
    assert u.passed and u.locations[0] == "centre"
    assert u.as_dict()["pass"] is True


def test_uniformity_over_30_percent_fails_and_ambient_counts():
    u = evaluate_uniformity([100, 70, 72, 75, 71])  # 200·30/170 = 35.3 %
    assert u.max_deviation == pytest.approx(60 / 170) and not u.passed
    # a UN10 field: 200·(10 − 6)/(10 + 6) = 50 %; with 2 cd/m² ambient 200·(12 − 8)/(12 + 8) = 40 %
    assert evaluate_uniformity([10, 6, 7, 8, 9]).max_deviation == pytest.approx(0.5)
    assert evaluate_uniformity([10, 6, 7, 8, 9], ambient=2.0).max_deviation == pytest.approx(0.4)


def test_uniformity_nine_points_and_median_limit():
    readings = [80, 82, 81, 84, 100, 83, 79, 80, 81]
    u = evaluate_uniformity(readings, limits=QCLimits(max_median_deviation=0.15))
    assert u.locations[4] == "centre"
    assert u.median_deviation == pytest.approx(19 / 81)
    assert u.max_deviation == pytest.approx(42 / 179)
    by_name = {c.name: c.passed for c in u.checks}
    assert by_name == {"max_uniformity_deviation": True, "max_median_deviation": False}
    assert not u.passed
    assert evaluate_uniformity(readings).checks[1].passed is None  # no default median limit


@pytest.mark.parametrize("readings, parameter", [
    ([1, 2, 3, 4], "readings"),
    ([1, 2, -3, 4, 5], "readings[2].luminance"),
    ([1, 2, float("nan"), 4, 5], "readings[2].luminance"),
    ([0, 0, 0, 0, 0], "readings"),
])
def test_uniformity_refuses_bad_readings(readings, parameter):
    with pytest.raises(ReadingError) as err:
        evaluate_uniformity(readings)
    assert err.value.parameter == parameter


# -- calibration LUT from the readings ------------------------------------------------------------

def test_display_lut_is_what_gsdf_lut_computes(tmp_path, capsys):
    readings = check_readings(P8, GAMMA_22, AMBIENT)
    lut = display_lut(readings)
    assert lut.levels == 256 and lut.max_ddl == 255
    assert lut.lut.output[0] == 0 and lut.lut.output[-1] == 255
    assert np.all(np.diff(lut.lut.output) >= 0)
    # the calibrated display follows the GSDF: every level within about one device step (in JND)
    j_target, j_achieved = ref_j_array(lut.lut.target), ref_j_array(lut.lut.achieved)
    assert np.abs(j_achieved - j_target).max() < 3.0
    assert lut.lut.target[0] == pytest.approx(GAMMA_22[0] + AMBIENT)
    path = tmp_path / "display.lut"
    path.write_text(dcmtk_characteristic(readings))
    curve = read_characteristic_file(path, "monitor")
    assert curve.ambient == AMBIENT and curve.ddl.tolist() == P8
    assert main(["gsdf", "lut", "--monitor-file", str(path)]) == 0
    assert capsys.readouterr().out == lut_csv(lut)


def test_display_lut_of_12_bit_readings_spans_4080():
    lut = display_lut(check_readings(LN12_LEVELS, GAMMA_22, AMBIENT))
    assert lut.max_ddl == 4080 and lut.levels == 256
    assert lut.lut.output[-1] == 4080 and lut.output_fraction[-1] == 1.0


def test_display_lut_refuses_flat_readings():
    with pytest.raises(ParameterError) as err:
        display_lut(check_readings(P8, _with(16, PASSES_10[17]), AMBIENT))
    assert err.value.parameter == "luminance" and "240 and 255" in str(err.value)


def test_argyll_cal_text():
    lut = display_lut(check_readings(P8, GAMMA_22, AMBIENT))
    text = argyll_cal(lut, description='RAD-3 "left"')
    lines = text.splitlines()
    assert lines[0] == "CAL" and 'DEVICE_CLASS "DISPLAY"' in lines and 'COLOR_REP "RGB"' in lines
    assert 'DESCRIPTOR "RAD-3 \'left\'"' in lines
    data = lines[lines.index("BEGIN_DATA") + 1:lines.index("END_DATA")]
    assert "NUMBER_OF_SETS 256" in lines and len(data) == 256
    rows = np.array([row.split() for row in data], dtype=float)
    assert np.allclose(rows[:, 0], np.arange(256) / 255, atol=1e-8)
    assert np.array_equal(rows[:, 1], rows[:, 2]) and np.array_equal(rows[:, 1], rows[:, 3])
    assert np.allclose(rows[:, 1], lut.lut.output / 255, atol=1e-8)


@pytest.mark.dcmtk
def test_dcmtk_reads_the_characteristic_file(tmp_path):
    readings = check_readings(P8, GAMMA_22, AMBIENT)
    path = tmp_path / "display.lut"
    path.write_text(dcmtk_characteristic(readings))
    out = tmp_path / "table.txt"
    subprocess.run([require_tool("dcmdspfn"), "+Im", str(path), "+Og", str(out)], check=True,
                   capture_output=True, timeout=60)
    rows = np.array([line.split() for line in out.read_text().splitlines() if line[:1].isdigit()],
                    dtype=float)
    assert rows.shape[0] == 256
    # DCMTK's curve through the 18 readings (plus ambient) meets them at the measured DDLs
    assert rows[P8, 1] == pytest.approx(np.array(GAMMA_22) + AMBIENT, rel=1e-3)


def test_argyll_applycal_loads_the_cal_file(tmp_path):
    applycal = require_tool("applycal")  # ArgyllCMS, installed by scripts/test
    profile = next((p for p in ("/usr/share/color/argyll/ref/sRGB.icm",
                                "/usr/share/argyllcms/ref/sRGB.icm") if Path(p).exists()), None)
    if profile is None:
        pytest.fail("ArgyllCMS reference profile sRGB.icm not found (Debian package argyll)")
    cal = tmp_path / "display.cal"
    cal.write_text(argyll_cal(display_lut(check_readings(P8, GAMMA_22, AMBIENT))))
    r = subprocess.run([applycal, str(cal), profile, str(tmp_path / "out.icm")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Created calibrated output curve" in r.stdout

