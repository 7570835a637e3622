"""Display QC test patterns (synthetic AAPM TG18 / TG270): their levels and structure checked on their
pixels, PNG and DICOM files with equal pixels (dcmdump, pydicom, dciodvfy when installed), and the
``printserver qc`` commands through a subprocess."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys

import numpy as np
import pydicom
import pytest
from PIL import Image

from conftest import require_tool
from printserver.errors import ParameterError
from printserver.gsdf.conformance import LN8_LEVELS
from printserver.gsdf.readings import readings_csv
from printserver.layout.pattern_files import pattern_dicom, pattern_png
from printserver.layout.qc_patterns import QC_PATTERNS, render_pattern
from printserver.layout.tg18 import LP_LEVELS, ln_square, uniformity_points


def levels_in(region: np.ndarray) -> set[int]:
    return set(np.unique(region).tolist())


# -- LN: the 18 levels in the measurement square --------------------------------------------------

@pytest.mark.parametrize("size", [1024, 2048])
def test_ln8_squares_carry_the_18_levels_on_a_20_percent_background(size):
    a, b = ln_square(size)
    assert (b - a) ** 2 / size**2 == pytest.approx(0.10, abs=0.002)  # 10 % of the area
    found = []
    for i in range(1, 19):
        image = render_pattern(f"TG18-LN8-{i:02d}", size)
        px = image.pixels
        assert px.dtype == np.uint8 and px.shape == (size, size) and image.bits == 8
        assert levels_in(px[a:b, a:b]) == {15 * (i - 1)}  # exactly one level, all over the square
        found.append(int(px[size // 2, size // 2]))
        # background: 20 % of 255 = 51 everywhere outside the square except the label at the bottom
        outside = np.ones_like(px, dtype=bool)
        outside[a:b, a:b] = False
        outside[size - size // 16:, :] = False
        assert levels_in(px[outside]) == {51}
        assert image.window == (128.0, 256.0)
    assert found == LN8_LEVELS.tolist()


def test_ln12_squares_carry_0_240_to_4080():
    a, b = ln_square(1024)
    for i in range(1, 19):
        image = render_pattern(f"tg18-ln12-{i:02d}")  # names are case-insensitive
        assert image.bits == 12 and image.full_scale == 4080 and image.pixels.dtype == np.uint16
        assert levels_in(image.pixels[a:b, a:b]) == {240 * (i - 1)}
        assert image.pixels[10, 10] == 816  # 20 % of 4080
        assert image.window == (2040.0, 4080.0)  # TG18: WW/WL 4080/2040 for the LN patterns


def test_uln_fields_and_their_nine_areas():
    image = render_pattern("TG270-ULN8-07")
    px = image.pixels
    for x, y in uniformity_points(1024, 9):
        assert levels_in(px[y - 40:y + 40, x - 40:x + 40]) == {90}  # inside each marked area
    marks = levels_in(px) - {90}
    assert 154 in marks  # corner ticks 25 % brighter than a dark field (plus the label)
    assert render_pattern("TG270-ULN12-18").pixels[512, 512] == 4080


# -- uniformity, line pairs -----------------------------------------------------------------------

@pytest.mark.parametrize("name, level, level12", [("TG18-UN10", 26, 410), ("TG18-UN80", 204, 3276)])
def test_un_fields_are_uniform(name, level, level12):
    px = render_pattern(name).pixels
    assert levels_in(px[:-64, :]) == {level}  # 10 % and 80 % of 255, 4095
    assert levels_in(render_pattern(name, bits=12).pixels[:-64, :]) == {level12}


def test_unl_marks_the_five_areas_without_touching_them():
    px = render_pattern("TG18-UNL80").pixels
    for x, y in uniformity_points(1024, 5):
        assert levels_in(px[y - 48:y + 48, x - 48:x + 48]) == {204}  # the measured area itself
        assert px[y - 51, x] == 153 and px[y, x + 50] == 153  # its outline, 20 % darker
    assert levels_in(render_pattern("TG18-UNL10").pixels[200:400, 500:520]) == {26}


@pytest.mark.parametrize("percent", [10, 50, 89])
@pytest.mark.parametrize("letter", ["H", "V"])
def test_line_pair_patterns_alternate_single_pixel_lines(percent, letter):
    low, high = LP_LEVELS[percent]
    px = render_pattern(f"TG18-LP{letter}{percent}").pixels
    body = px[:900, :] if letter == "H" else px[:900, :].T
    assert levels_in(body[0::2, :]) == {low} and levels_in(body[1::2, :]) == {high}
    assert high == min(255, round(low * 1.12))  # +12 % (RadiCS's description)


# -- QC, CT, MP, AD, sQC --------------------------------------------------------------------------

def test_tg18_qc_structure():
    px = render_pattern("TG18-QC").pixels.astype(int)
    k_cell, patch, origin = 123, 102, (1024 - 5 * 123) // 2
    ring = [(c, 0) for c in range(5)] + [(4, r) for r in range(1, 5)] + \
           [(c, 4) for c in range(3, -1, -1)] + [(0, r) for r in range(3, 0, -1)]
    for i, (col, row) in enumerate(ring):
        x0 = origin + col * k_cell + (k_cell - patch) // 2
        y0 = origin + row * k_cell + (k_cell - patch) // 2
        level = 17 * i
        assert px[y0 + patch // 2, x0 + patch // 2] == level  # 0, 17, …, 255 clockwise
        # corner squares ±4 (clipped at the ends of the scale)
        assert px[y0 + 2, x0 + 2] == min(255, level + 4)
        assert px[y0 + 2, x0 + patch - 3] == max(0, level - 4)
    # ramps: monotonic and covering the scale
    left = px[140:884, 70]
    assert left[0] == 255 and left[-1] == 0 and np.all(np.diff(left) <= 0)
    assert len(np.unique(left)) == 256
    # corner line pairs: 1-pixel horizontal lines at 0/255
    block = px[31:31 + 24, 31:31 + 24]
    assert levels_in(block[0::2]) == {0} and levels_in(block[1::2]) == {255}
    # QUALITY CONTROL: on black, the letters are 14 … 1 levels above black
    assert levels_in(px[1024 - 150:1024 - 80, 512 - 230 - 12 - 115:512 - 12 - 115 - 230 + 230]) \
        <= {0} | set(range(1, 15)) | {255, 128}
    letters_on_black = levels_in(px[1024 - 150:1024 - 80, 512 - 357:512 - 127]) - {0}
    assert letters_on_black == set(range(1, 15))


def test_tg18_ct_zones_and_half_moons():
    px = render_pattern("TG18-CT").pixels.astype(int)
    zone, pitch = 180, 220
    origin = (1024 - 4 * pitch + (pitch - zone)) // 2
    for i in range(16):
        row, col = divmod(i, 4)
        x0, y0 = origin + col * pitch, origin + row * pitch
        level = 17 * i
        assert px[y0 + 30, x0 + zone // 2] == level
        left, right = px[y0 + zone // 2, x0 + zone // 2 - 20], px[y0 + zone // 2, x0 + zone // 2 + 20]
        assert {left - level, right - level} in ({-2, 2}, {2, 4}, {-4, -2})


def test_tg18_mp_has_8_and_10_bit_markers():
    eight, twelve = render_pattern("TG18-MP").pixels, render_pattern("TG18-MP", bits=12).pixels
    x0 = (1024 - 8 * 104 - 7 * 20) // 2  # the first ramp column, rising from 0 downwards
    ramp8 = eight[80:904, x0 + 52].astype(int)
    assert ramp8[0] == 0 and ramp8[-1] == 32 and np.all(np.diff(ramp8) >= 0)
    ticks = lambda px, x: int(np.count_nonzero(px[80:904, x] != px[79, x]))  # noqa: E731
    assert ticks(eight, x0 - 8) == 32 and ticks(eight, x0 - 3) == 32  # a tick per 8-bit step
    assert ticks(twelve, x0 - 8) == 32 and ticks(twelve, x0 - 3) > 120  # and per 10-bit step
    assert len(np.unique(twelve[80:904, x0 + 52])) > 500  # continuous at 12 bits


def test_tg18_ad_is_low_contrast_near_black():
    px = render_pattern("TG18-AD").pixels
    body = px[:980, :]
    targets = {base + c for base in (0, 2, 4, 8) for c in (0, 1, 2, 3, 4, 6)}
    assert levels_in(body) == targets  # nothing brighter than 14 of 255 outside the label


def test_tg270_sqc_squares_and_modulation():
    px = render_pattern("TG270-sQC").pixels.astype(int)
    for i in range(18):
        row, col = divmod(i, 6)
        x0 = (1024 - 6 * 160) // 2 + 5 + col * 160
        y0 = 48 + row * 160
        level = 15 * i
        assert px[y0 + 75, x0 + 75] == level
        bars = px[y0 + 40, x0 + 10:x0 + 70]
        c = 3 if i in (0, 17) else 5
        assert set(np.abs(bars - level)) == {0, c}
    assert px[48 + 480 + 16 + 128, 64 + 128] == 0


# -- files ----------------------------------------------------------------------------------------

def png_chunks(data: bytes) -> dict[bytes, bytes]:
    chunks, i = {}, 8
    while i < len(data):
        (n,), kind = struct.unpack(">I", data[i:i + 4]), data[i + 4:i + 8]
        chunks[kind] = data[i + 8:i + 8 + n]
        i += 12 + n
    return chunks


@pytest.mark.parametrize("name, bits", [("TG18-QC", 8), ("TG18-QC", 12), ("TG18-LN12-05", 12),
                                        ("TG18-LN8-18", 8), ("TG270-sQC", 12)])
def test_png_and_dicom_hold_the_same_pixels(tmp_path, name, bits):
    image = render_pattern(name, 1024, bits)
    png, dcm = pattern_png(image), pattern_dicom(image)
    samples = np.asarray(Image.open(io.BytesIO(png)))
    ds = pydicom.dcmread(io.BytesIO(dcm))
    if bits == 8:
        assert samples.dtype == np.uint8 and np.array_equal(samples, image.pixels)
    else:
        assert png_chunks(png)[b"sBIT"] == bytes([12]) and png_chunks(png)[b"IHDR"][8] == 16
        assert np.array_equal(samples >> 4, image.pixels)  # PNG §12.5 scaling, undone by sBIT
        assert samples.max() <= 65535 and (image.full_scale != 4095 or samples.max() == 65535)
    assert np.array_equal(ds.pixel_array, image.pixels)
    assert (ds.BitsStored, ds.PhotometricInterpretation, ds.ConversionType) == (bits, "MONOCHROME2", "SYN")
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
    assert (float(ds.WindowCenter), float(ds.WindowWidth)) == image.window
    path = tmp_path / "p.dcm"
    path.write_bytes(dcm)
    dump = subprocess.run([require_tool("dcmdump"), str(path)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0 and "(0028,0004) CS [MONOCHROME2]" in dump.stdout
    assert f"(0028,0101) US {bits}" in dump.stdout
    # dicom3tools' IOD verifier (installed by scripts/test): no errors
    out = subprocess.run([require_tool("dciodvfy"), str(path)], capture_output=True, text=True,
                         timeout=60)
    assert "Error" not in out.stdout + out.stderr, out.stdout + out.stderr


def test_dicom_uids_identify_the_pattern():
    a, b = (pydicom.dcmread(io.BytesIO(pattern_dicom(render_pattern(n)))) for n in ("TG18-QC", "TG18-CT"))
    again = pydicom.dcmread(io.BytesIO(pattern_dicom(render_pattern("TG18-QC"))))
    assert a.SOPInstanceUID == again.SOPInstanceUID != b.SOPInstanceUID
    assert a.StudyInstanceUID == b.StudyInstanceUID and a.SOPInstanceUID.startswith("2.25.")


def test_only_published_sizes_and_known_names():
    with pytest.raises(ParameterError) as err:
        render_pattern("TG18-QC", 1280)
    assert err.value.parameter == "size" and "never rescaled" in str(err.value)
    with pytest.raises(ParameterError) as err:
        render_pattern("TG18-XX")
    assert err.value.parameter == "name"
    with pytest.raises(ParameterError) as err:
        render_pattern("TG18-LN8-01", bits=12)
    assert err.value.parameter == "bits"


@pytest.mark.slow
def test_every_pattern_renders_at_both_sizes_with_a_label():
    for name, pattern in QC_PATTERNS.items():
        for size in (1024, 2048):
            image = render_pattern(name, size, pattern.bits[-1])
            assert image.pixels.shape == (size, size)
            assert image.pixels.max() <= image.full_scale


# -- printserver qc (subprocess) ------------------------------------------------------------------

def qc(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "printserver", "qc", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


GOOD = [round(x, 4) for x in (0.5, 1.473, 3.008, 5.258, 8.412, 12.71, 18.45, 26.01, 35.86, 48.6,
                              64.97, 85.91, 112.6, 146.5, 189.6, 244.0, 312.9, 399.8)]
GAMMA = [round(0.5 + 350.0 * (p / 255) ** 2.2, 3) for p in LN8_LEVELS]


@pytest.fixture
def readings(tmp_path):
    def write(lum, name="r.csv"):
        path = tmp_path / name
        path.write_text(readings_csv(LN8_LEVELS, lum))
        return str(path)
    return write


def test_qc_evaluate_exit_codes_and_json(readings, tmp_path):
    ok = qc("evaluate", readings(GOOD), "--ambient", "0.25", "--json")
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    for key in ("lmax_prime", "lmin_prime", "luminance_ratio", "kappa", "max_abs_kappa", "pass"):
        assert key in result
    assert len(result["kappa"]) == 17 and result["pass"] is True
    assert result["lmin_prime"] == pytest.approx(0.75) and result["lmax_prime"] == pytest.approx(400.05)
    bad = qc("evaluate", readings(GAMMA), "--ambient", "0.25", "--display-class", "secondary", "--json")
    assert bad.returncode == 1 and json.loads(bad.stdout)["pass"] is False
    text = qc("evaluate", readings(GAMMA), "--ambient", "0.25")
    assert text.returncode == 1 and "FAIL" in text.stdout and "max |kappa|" in text.stdout


@pytest.mark.parametrize("lum, args, fragment", [
    (GOOD[:5] + [GOOD[2]] + GOOD[6:], (), "r.csv:7: readings[5].luminance"),
    (GOOD, ("--ambient", "-1"), "--ambient"),
    (GOOD[:1] + [-1.0] + GOOD[2:], (), "r.csv:3: readings[1].luminance: negative luminance"),
])
def test_qc_evaluate_bad_input_exits_2_naming_the_line(readings, lum, args, fragment):
    r = qc("evaluate", readings(lum), *args)
    assert r.returncode == 2 and fragment in r.stderr and "Traceback" not in r.stderr


def test_qc_evaluate_wrong_format_and_missing_file(tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("level,cd\n0,1\n")
    r = qc("evaluate", str(path))
    assert r.returncode == 2 and "wrong.csv:1: header must be 'ddl,luminance'" in r.stderr
    r = qc("evaluate", str(tmp_path / "absent.csv"))
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_qc_pattern_writes_png_and_dicom(tmp_path):
    r = qc("pattern", "TG18-LN12-18", "--size", "2048x2048", "--format", "dcm", "-o", str(tmp_path / "ln.dcm"))
    assert r.returncode == 0, r.stderr
    ds = pydicom.dcmread(tmp_path / "ln.dcm")
    assert (ds.Rows, ds.BitsStored, int(ds.pixel_array[1024, 1024])) == (2048, 12, 4080)
    r = qc("pattern", "TG18-QC", "-o", str(tmp_path / "qc.png"))
    assert r.returncode == 0 and Image.open(tmp_path / "qc.png").size == (1024, 1024)
    r = qc("pattern", "TG18-QC", "--size", "1280x1024", "-o", str(tmp_path / "x.png"))
    assert r.returncode == 2
    r = qc("pattern", "NOPE", "-o", str(tmp_path / "x.png"))
    assert r.returncode == 2 and "unknown QC pattern" in r.stderr
    assert not (tmp_path / "x.png").exists()


def test_qc_patterns_lists_every_name():
    r = qc("patterns")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names == list(QC_PATTERNS) and "TG18-LN8-01" in names and "TG270-sQC" in names


def test_qc_lut_formats(readings, tmp_path):
    path = readings(GAMMA)
    r = qc("lut", path, "--ambient", "0.25", "--format", "csv")
    assert r.returncode == 0 and r.stdout.startswith("input,output\n0,0\n")
    assert len(r.stdout.splitlines()) == 257
    r = qc("lut", path, "--format", "cal", "-o", str(tmp_path / "d.cal"))
    assert r.returncode == 0 and (tmp_path / "d.cal").read_text().startswith("CAL\n")
    r = qc("lut", path, "--ambient", "0.25", "--format", "dcmtk")
    assert r.returncode == 0 and "\nmax 255\namb 0.25\n0 0.5\n" in r.stdout
