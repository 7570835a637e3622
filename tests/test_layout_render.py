"""Pixel-level tests of film composition: boxes, densities, polarity, Presentation LUTs,
magnification, decimate/crop/fail. Small films at low resolution; expected densities are computed
here from the PS3.14 formulas, not by the code under test."""

import math

import numpy as np
import pytest

from printserver.config import PrinterConfig
from printserver.gsdf.plut import PresentationLUT
from printserver.layout import FilmSpec, ImageSpec, LayoutError, Rect, render_film
from printserver.vocabulary import Status

# -- PS3.14 §7.1 / §7.2, written out independently --------------------------------------------
_A = (-1.3011877, -2.5840191e-2, 8.0242636e-2, -1.0320229e-1, 1.3646699e-1, 2.8745620e-2,
      -2.5468404e-2, -3.1978977e-3, 1.2992634e-4, 1.3635334e-3)
_J = (71.498068, 94.593053, 41.912053, 9.8247004, 0.28175407, -1.1878455, -0.18014349,
      0.14710899, -0.017046845)


def gsdf_luminance(j):
    a, b, c, d, e, f, g, h, k, m = _A
    x = math.log(j)
    num = a + c * x + e * x ** 2 + g * x ** 3 + m * x ** 4
    den = 1 + b * x + d * x ** 2 + f * x ** 3 + h * x ** 4 + k * x ** 5
    return 10 ** (num / den)


def gsdf_jnd(lum):
    y = math.log10(lum)
    return sum(c * y ** i for i, c in enumerate(_J))


def ps314_od(p, bits, dmin, dmax, l0=2000.0, la=10.0):
    """PS3.14 §7.2: P-value p (of `bits`) → optical density."""
    jmin = gsdf_jnd(la + l0 * 10 ** -dmax)
    jmax = gsdf_jnd(la + l0 * 10 ** -dmin)
    lum = gsdf_luminance(jmin + p * (jmax - jmin) / (2 ** bits - 1))
    return -math.log10((lum - la) / l0)


# -- fixtures ----------------------------------------------------------------------------------
LIN_OD = PresentationLUT.from_shape("LIN OD")


def printer(**kw):
    """10INX12IN at 30 dpi is 300 x 360 film pixels; no gaps or margins unless asked."""
    kw.setdefault("resolution_dpi", {"STANDARD": 30, "HIGH": 60})
    kw.setdefault("image_box_gap_mm", 0.0)
    kw.setdefault("default_film_size", "10INX12IN")
    kw.setdefault("min_density", 20)
    kw.setdefault("max_density", 300)
    return PrinterConfig(**kw)


def film(fmt="STANDARD\\1,1", **kw):
    kw.setdefault("presentation_lut", LIN_OD)
    return FilmSpec(fmt, **kw)


def od_at(rendered, y, x):
    return rendered.raster[y, x] / 1000.0


def lin_od(v, bits=8, dmin=0.2, dmax=3.0):
    return dmin + v * (dmax - dmin) / (2 ** bits - 1)


def uniform(value, size=10, dtype=np.uint8):
    return np.full((size, size), value, dtype=dtype)


# -- boxes land where the format says ------------------------------------------------------------
@pytest.mark.parametrize("fmt,orientation,expected", [
    ("STANDARD\\2,3", "PORTRAIT", [Rect(x, y, 150, 120) for y in (0, 120, 240) for x in (0, 150)]),
    ("STANDARD\\2,3", "LANDSCAPE", [Rect(x, y, 180, 100) for y in (0, 100, 200) for x in (0, 180)]),
    ("ROW\\1,3", "PORTRAIT", [Rect(0, 0, 300, 180)] + [Rect(x, 180, 100, 180) for x in (0, 100, 200)]),
    ("ROW\\2,1", "LANDSCAPE", [Rect(0, 0, 180, 150), Rect(180, 0, 180, 150), Rect(0, 150, 360, 150)]),
    ("COL\\1,3", "PORTRAIT", [Rect(0, 0, 150, 360)] + [Rect(150, y, 150, 120) for y in (0, 120, 240)]),
    ("COL\\2,1", "LANDSCAPE", [Rect(0, 0, 180, 150), Rect(0, 150, 180, 150), Rect(180, 0, 180, 300)]),
])
def test_each_box_lands_at_its_rectangle(fmt, orientation, expected):
    images = [ImageSpec(i + 1, uniform(20 * (i + 1))) for i in range(len(expected))]
    out = render_film(film(fmt, film_orientation=orientation, border_density="WHITE"), images,
                      printer())
    rows, cols = (360, 300) if orientation == "PORTRAIT" else (300, 360)
    assert out.raster.shape == (rows, cols)
    for i, box in enumerate(expected):
        target = out.placements[i].target
        # the square image fills the box's smaller side, centred in the box
        side = min(box.width, box.height)
        assert (target.width, target.height) == (side, side)
        assert target.x == box.x + (box.width - side) // 2
        assert target.y == box.y + (box.height - side) // 2
        cy, cx = box.y + box.height // 2, box.x + box.width // 2
        assert od_at(out, cy, cx) == pytest.approx(lin_od(20 * (i + 1)), abs=0.001)
    assert not out.warnings


# -- border and empty densities ------------------------------------------------------------------
def test_border_and_empty_image_density_are_printed_as_requested():
    out = render_film(film("STANDARD\\2,1", border_density="150", empty_image_density="WHITE"),
                      [ImageSpec(1, uniform(255))], printer())
    # box 1 is 150 x 360 with a 150 x 150 image in its middle: above it is border
    assert od_at(out, 10, 75) == pytest.approx(1.50, abs=0.001)
    assert od_at(out, 180, 75) == pytest.approx(3.00, abs=0.001)
    # box 2 has no image: Empty Image Density WHITE = Min Density
    assert np.all(out.raster[:, 150:] == 200)


def test_black_is_max_density_and_numbers_are_clamped_to_the_printer():
    out = render_film(film("STANDARD\\2,1", border_density="BLACK", empty_image_density="400",
                           max_density=250), [ImageSpec(1, uniform(0))], printer())
    assert od_at(out, 5, 5) == pytest.approx(2.50, abs=0.001)  # BLACK = film Max Density
    assert od_at(out, 5, 200) == pytest.approx(3.00, abs=0.001)  # 4.00 clamped to printer max
    assert [w.status for w in out.warnings] == [Status.DENSITY_OUT_OF_RANGE]


def test_min_max_density_outside_the_printer_range_are_clamped_with_b605():
    out = render_film(film(min_density=5, max_density=400, border_density="WHITE"),
                      [ImageSpec(1, uniform(255))], printer())
    assert {w.status for w in out.warnings} == {Status.DENSITY_OUT_OF_RANGE}
    assert od_at(out, 180, 150) == pytest.approx(3.00, abs=0.001)
    assert od_at(out, 5, 5) == pytest.approx(0.20, abs=0.001)


# -- polarity and photometric interpretation -----------------------------------------------------
@pytest.mark.parametrize("photometric,polarity,printed", [
    ("MONOCHROME2", "NORMAL", 40),
    ("MONOCHROME2", "REVERSE", 255 - 40),
    ("MONOCHROME1", "NORMAL", 255 - 40),
    ("MONOCHROME1", "REVERSE", 40),
])
def test_reverse_and_monochrome1_invert(photometric, polarity, printed):
    # IDENTITY: the stored value is the P-value; NORMAL MONOCHROME2 prints 40 dark (P 40)
    out = render_film(FilmSpec("STANDARD\\1,1"), [ImageSpec(
        1, uniform(40), photometric_interpretation=photometric, polarity=polarity)], printer())
    assert od_at(out, 180, 150) == pytest.approx(ps314_od(printed, 8, 0.2, 3.0), abs=0.002)


# -- 12-bit ramp through IDENTITY and LIN OD -------------------------------------------------
RAMP = np.arange(64 * 64).reshape(64, 64).astype(np.uint16)  # 0 … 4095


@pytest.mark.parametrize("plut", [None, PresentationLUT.from_shape("IDENTITY"), LIN_OD])
def test_12_bit_ramp_gives_the_ps314_densities(plut):
    out = render_film(FilmSpec("STANDARD\\1,1", presentation_lut=plut, min_density=30,
                               max_density=280, illumination=1500, reflected_ambient_light=20),
                      [ImageSpec(1, RAMP, bits_stored=12, magnification_type="NONE")], printer())
    target = out.placements[0].target
    assert (target.width, target.height) == (64, 64)
    got = out.od(target)
    if plut is LIN_OD:
        expected = [0.30 + v * (2.80 - 0.30) / 4095 for v in range(4096)]
    else:
        expected = [ps314_od(v, 12, 0.30, 2.80, l0=1500, la=20) for v in range(4096)]
    assert np.abs(got.ravel() - np.array(expected)).max() < 0.01  # every one of the 4096 values
    # IDENTITY: P-value 0 prints at Max Density, 4095 at Min Density; LIN OD the other way round
    ends = (got[0, 0], got[-1, -1])
    assert ends == pytest.approx((2.80, 0.30) if plut is not LIN_OD else (0.30, 2.80), abs=0.002)


def test_image_box_presentation_lut_overrides_the_film_box():
    out = render_film(FilmSpec("STANDARD\\1,1", presentation_lut=None),
                      [ImageSpec(1, uniform(255), presentation_lut=LIN_OD)], printer())
    assert od_at(out, 180, 150) == pytest.approx(3.00, abs=0.001)


def test_12_bit_values_above_bits_stored_are_masked():
    pixels = np.full((8, 8), 0xF000 | 4095, dtype=np.uint16)
    out = render_film(film(), [ImageSpec(1, pixels, bits_stored=12)], printer())
    assert od_at(out, 180, 150) == pytest.approx(3.00, abs=0.001)


# -- magnification --------------------------------------------------------------------------
CHECKER = np.array([[0, 255], [255, 0]], dtype=np.uint8)


def _render_checker(mag, **kw):
    out = render_film(film(**kw), [ImageSpec(1, CHECKER, magnification_type=mag)], printer())
    return out, out.raster[out.placements[0].target.slices]


def test_replicate_gives_equal_blocks():
    out, region = _render_checker("REPLICATE")
    assert region.shape == (300, 300)  # whole factor 150 fits the 300 x 360 box
    assert set(np.unique(region)) == {200, 3000}
    assert np.all(region[:150, :150] == 200) and np.all(region[:150, 150:] == 3000)
    assert np.all(region[150:, :150] == 3000) and np.all(region[150:, 150:] == 200)


def test_bilinear_interpolates_and_cubic_differs():
    _, bilinear = _render_checker("BILINEAR")
    _, cubic = _render_checker("CUBIC", smoothing_type="MEDIUM")
    levels = np.unique(bilinear)
    assert len(levels) > 50  # a ramp between the two densities, not two blocks
    assert levels.min() >= 200 and levels.max() <= 3000
    middle = bilinear[150, :]
    assert 200 < middle[150] < 3000
    assert not np.array_equal(bilinear, cubic)


def test_smoothing_types_differ():
    ramps = {s: _render_checker("CUBIC", smoothing_type=s)[1] for s in ("SHARP", "MEDIUM", "SMOOTH")}
    assert not np.array_equal(ramps["SHARP"], ramps["MEDIUM"])
    assert not np.array_equal(ramps["SMOOTH"], ramps["MEDIUM"])
    # SMOOTH (B-spline) never overshoots; the image's corner pixels stay between the extremes
    assert ramps["SMOOTH"].min() >= 200 and ramps["SMOOTH"].max() <= 3000


def test_none_prints_one_film_pixel_per_image_pixel():
    out, region = _render_checker("NONE")
    assert region.shape == (2, 2)
    assert out.placements[0].target == Rect(149, 179, 2, 2)


def test_requested_image_size_and_pixel_aspect_ratio():
    # 50 mm at 30 dpi = 59 film pixels; Pixel Aspect Ratio 2\1 doubles the height
    out = render_film(film(), [ImageSpec(1, uniform(100), requested_image_size=50.0,
                                         pixel_aspect_ratio=(2, 1), magnification_type="BILINEAR")],
                      printer())
    target = out.placements[0].target
    assert (target.width, target.height) == (59, 118)
    assert od_at(out, target.y + 5, target.x + 5) == pytest.approx(lin_od(100), abs=0.001)


# -- decimate / crop / fail -----------------------------------------------------------------
COLUMN_RAMP = np.tile(np.arange(400, dtype=np.uint16), (400, 1))  # value = column index


def _large(behavior=None, mag=None):
    return ImageSpec(1, COLUMN_RAMP, bits_stored=12, requested_decimate_crop_behavior=behavior,
                     magnification_type=mag)


def test_larger_image_without_request_is_demagnified_b604():
    out = render_film(film("STANDARD\\2,3"), [_large()], printer())
    assert out.placements[0].target == Rect(15, 0, 120, 120)
    assert [w.status for w in out.warnings] == [Status.IMAGE_DEMAGNIFIED]


def test_decimate_shrinks_to_fit_b60a():
    out = render_film(film("STANDARD\\2,3"), [_large("DECIMATE", "BILINEAR")], printer())
    assert out.placements[0].target == Rect(15, 0, 120, 120)
    assert [w.status for w in out.warnings] == [Status.IMAGE_DECIMATED]


def test_crop_keeps_the_centre_at_one_pixel_per_pixel_b609():
    out = render_film(film("STANDARD\\2,3"), [_large("CROP")], printer())
    placement = out.placements[0]
    assert placement.target == Rect(0, 0, 150, 120)
    assert placement.source == Rect(125, 140, 150, 120)
    assert [w.status for w in out.warnings] == [Status.IMAGE_CROPPED]
    # the first printed column is source column 125 (LIN OD, 12 bits)
    assert od_at(out, 60, 0) == pytest.approx(lin_od(125, bits=12), abs=0.001)
    assert od_at(out, 60, 149) == pytest.approx(lin_od(274, bits=12), abs=0.001)


def test_fail_refuses_an_image_larger_than_its_box_c603():
    with pytest.raises(LayoutError, match="larger than its box") as info:
        render_film(film("STANDARD\\2,3"), [_large("FAIL")], printer())
    assert info.value.status == Status.IMAGE_TOO_LARGE
    assert info.value.image_box_position == 1


def test_decimate_with_magnification_none_fails_c603():
    with pytest.raises(LayoutError, match="NONE") as info:
        render_film(film("STANDARD\\2,3"), [_large("DECIMATE", "NONE")], printer())
    assert info.value.status == Status.IMAGE_TOO_LARGE


def test_fail_is_fine_when_the_image_fits():
    out = render_film(film("STANDARD\\2,3"), [ImageSpec(1, uniform(9),
                      requested_decimate_crop_behavior="FAIL")], printer())
    assert out.placements[0].target.width == 120 and not out.warnings


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("images,match", [
    ([ImageSpec(3, uniform(1))], "Image Box Position 3"),
    ([ImageSpec(1, uniform(1)), ImageSpec(1, uniform(2))], "two images"),
    ([ImageSpec(1, np.zeros((4, 4, 3), np.uint8))], "Rows x Columns"),
    ([ImageSpec(1, uniform(1), polarity="SIDEWAYS")], "Polarity"),
    ([ImageSpec(1, uniform(1), requested_decimate_crop_behavior="SQUEEZE")], "Decimate"),
])
def test_bad_images_raise_typed_errors(images, match):
    with pytest.raises(LayoutError, match=match):
        render_film(film("STANDARD\\2,1"), images, printer())


def test_unknown_film_size_is_a_typed_error():
    with pytest.raises(LayoutError, match="Film Size ID"):
        render_film(film(film_size_id="9INX9IN"), [], printer())


# -- annotations and trim ----------------------------------------------------------------------
def test_label_text_is_drawn_in_contrast_on_the_border():
    p = printer(resolution_dpi={"STANDARD": 100}, annotation_formats={"LABEL": 1})
    out = render_film(film(annotation_display_format_id="LABEL", annotations={1: "PATIENT^TEST"}),
                      [ImageSpec(1, uniform(128))], p)
    line = out.layout.label_line
    assert line.height == round(6 / 25.4 * 100)
    region = out.raster[line.slices]
    assert region.min() == 200  # text at Min Density on the BLACK border
    assert region.max() == 3000
    assert (region < 1000).sum() > 100  # enough text pixels to be readable
    assert out.placements[0].target.y >= line.bottom


def test_bottom_captions_sit_under_their_images():
    p = printer(resolution_dpi={"STANDARD": 100}, annotation_formats={"BOTTOM": 2})
    out = render_film(film("STANDARD\\2,1", annotation_display_format_id="BOTTOM",
                           annotations={2: "R", 9: "nowhere"}),
                      [ImageSpec(1, uniform(0)), ImageSpec(2, uniform(0))], p)
    first, second = out.layout.image_boxes
    assert out.raster[first.caption.slices].min() == 3000  # no text for caption 1
    assert out.raster[second.caption.slices].min() == 200  # "R" under image 2
    assert out.placements[1].target.bottom <= second.caption.y
    assert [w.status for w in out.warnings] == [Status.ATTRIBUTE_VALUE_OUT_OF_RANGE]


def test_trim_draws_a_frame_around_each_image():
    out = render_film(film("STANDARD\\1,1", trim="YES"), [ImageSpec(1, uniform(0))], printer())
    target = out.placements[0].target
    # trim line 0.5 mm at 30 dpi = 1 px, one line width away from the image, at Min Density
    assert out.raster[target.y + 10, target.x - 2] == 200
    assert out.raster[target.y + 10, target.x - 1] == 3000
    assert out.raster[target.y - 2, target.x + 10] == 200
    assert target.width <= 300 - 4
