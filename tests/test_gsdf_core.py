"""GSDF, hardcopy, Presentation LUT and the od_lut pipeline against published values (PS3.14, PS3.3)."""

from __future__ import annotations

import numpy as np
import pytest

from printserver.errors import ParameterError
from printserver.gsdf.gsdf import jnd_from_luminance, luminance_from_jnd, luminance_from_pvalues
from printserver.gsdf.hardcopy import (Viewing, film_luminance_range, od_from_pvalues,
                                       pvalues_from_od)
from printserver.gsdf.pipeline import od_lut, od_to_pvalues, pvalues_to_od
from printserver.gsdf.plut import PresentationLUT
from printserver.vocabulary import VocabularyError

# PS3.14 Table B-1 end points (cd/m²)
TABLE_B1 = {1: 0.0500, 1023: 3993.4040}
# PS3.14 Annex D.2.2 / Table D.2-1: L0 2000, La 10, Dmin 0.20, Dmax 3.00, 8-bit P-values → OD
TABLE_D21 = {0: 3.000, 1: 2.936, 64: 1.698, 128: 1.122, 192: 0.641, 254: 0.207, 255: 0.200}


@pytest.mark.parametrize("j, published", sorted(TABLE_B1.items()))
def test_table_b1_end_points(j, published):
    assert luminance_from_jnd(j) == pytest.approx(published, rel=5e-4)


def test_gsdf_is_monotonic_and_defined_on_1_to_1023():
    lum = luminance_from_jnd(np.arange(1, 1024))
    assert np.all(np.diff(lum) > 0)
    with pytest.raises(ParameterError, match="jnd"):
        luminance_from_jnd(0.5)
    with pytest.raises(ParameterError, match="jnd"):
        luminance_from_jnd([10, 1024])


def test_jnd_from_luminance_formula_and_exact_inverse():
    # eq. 7-2 at the Annex D.2.2 extremes (published: 233.3197 and 847.1853)
    assert jnd_from_luminance([12.0, 1271.915]) == pytest.approx([233.3197, 847.1853], abs=2e-3)
    # eq. 7-2 is not the exact inverse of eq. 7-1 (digest §1.4): j(L(1)) = 1.0264
    assert jnd_from_luminance(luminance_from_jnd(1.0)) == pytest.approx(1.02638, abs=1e-4)
    j = np.linspace(1, 1023, 500)
    back = jnd_from_luminance(luminance_from_jnd(j), method="exact")
    assert np.max(np.abs(back - j)) < 1e-8


@pytest.mark.parametrize("bad", [0.0, -1.0, 0.01, 5000.0, float("nan")])
def test_jnd_from_luminance_refuses_out_of_range(bad):
    with pytest.raises(ParameterError, match="luminance"):
        jnd_from_luminance(bad)


def test_annex_d_film_luminance_range():
    lmin, lmax = film_luminance_range(0.20, 3.00, 2000, 10)
    assert (lmin, lmax) == pytest.approx((12.000, 1271.915), abs=1e-3)


@pytest.mark.parametrize("p, published", sorted(TABLE_D21.items()))
def test_annex_d_film_example(p, published):
    assert od_from_pvalues(p, 8, 0.20, 3.00, 2000, 10) == pytest.approx(published, abs=0.002)


def test_pvalue_od_round_trip_8_and_12_bit():
    for bits in (8, 12):
        p = np.arange(1 << bits)
        od = od_from_pvalues(p, bits, 0.20, 3.00)
        assert np.all(np.diff(od) < 0)  # P up = brighter = less density
        assert np.array_equal(np.rint(pvalues_from_od(od, bits, 0.20, 3.00)), p)
        assert np.array_equal(od_to_pvalues(pvalues_to_od(p, bits, 0.2, 3.0), bits, 0.2, 3.0), p)


def test_od_to_pvalues_clips_densities_outside_the_range():
    assert list(od_to_pvalues([0.0, 0.2, 3.0, 4.0], 8, 0.2, 3.0)) == [255, 255, 0, 0]


def test_paper_section_7_3():
    paper = Viewing.paper(0.10, 2.00)  # L0 150, no ambient term
    assert paper.luminance_range == pytest.approx((1.5, 119.149), abs=1e-3)
    lmin, lmax = paper.luminance_range
    assert jnd_from_luminance([lmin, lmax]) == pytest.approx([89.508, 500.012], abs=1e-3)
    assert od_from_pvalues(128, 8, 0.10, 2.00, 150, 0) == pytest.approx(0.82492, abs=1e-4)


@pytest.mark.parametrize("kwargs, name", [
    (dict(min_density=3.0, max_density=3.0), "min_density"),
    (dict(min_density=3.0, max_density=0.2), "min_density"),
    (dict(min_density=-0.1, max_density=3.0), "min_density"),
    (dict(min_density=0.2, max_density=3.0, illumination=0.0), "illumination"),
    (dict(min_density=0.2, max_density=3.0, illumination=-5.0), "illumination"),
    (dict(min_density=0.2, max_density=3.0, reflected_ambient_light=-1.0), "reflected_ambient_light"),
])
def test_impossible_hardcopy_parameters_name_the_parameter(kwargs, name):
    with pytest.raises(ParameterError) as err:
        od_from_pvalues(0, 8, **kwargs)
    assert err.value.parameter == name
    with pytest.raises(ParameterError):
        od_lut(8, "MONOCHROME2", "NORMAL", None, **kwargs)


def test_softcopy_targets_pin_the_end_points():
    lum = luminance_from_pvalues(np.arange(256), 8, 0.5, 400.0)
    assert lum[0] == 0.5 and lum[-1] == 400.0
    assert np.all(np.diff(lum) > 0)


# -- Presentation LUT --------------------------------------------------------------------------

def test_plut_shapes_and_table_constructors():
    assert PresentationLUT.from_shape("lin od").shape == "LIN OD"
    assert PresentationLUT.from_shape("IDENTITY") == PresentationLUT.identity()
    table = PresentationLUT.from_table(descriptor=(256, 0, 12), data=np.arange(256) * 16)
    assert table.entries == 256 and table.output_bits == 12 and table.matches(8) and not table.matches(12)
    assert PresentationLUT.from_table((0, 0, 16), np.arange(65536)).entries == 65536
    raw = (np.arange(4096, dtype="<u2")).tobytes()
    assert PresentationLUT.from_table((4096, 0, 12), raw).data[4095] == 4095
    assert PresentationLUT.from_shape("INVERSE").matches(12)


@pytest.mark.parametrize("descriptor, data, attribute", [
    ((256, 0, 9), np.zeros(256), "LUT Descriptor"),
    ((256, 0, 17), np.zeros(256), "LUT Descriptor"),
    ((256, 5, 12), np.zeros(256), "LUT Descriptor"),
    ((256, 0), np.zeros(256), "LUT Descriptor"),
    ((256, 0, 12), np.zeros(255), "LUT Data"),
    ((256, 0, 10), np.full(256, 1024), "LUT Data"),
    ((256, 0, 12), np.full(256, -1), "LUT Data"),
])
def test_plut_table_validation_names_the_attribute(descriptor, data, attribute):
    with pytest.raises(ParameterError, match=attribute):
        PresentationLUT.from_table(descriptor, data)


def test_plut_unknown_shape_names_the_attribute():
    with pytest.raises(VocabularyError, match="Presentation LUT Shape"):
        PresentationLUT.from_shape("LOG")


# -- od_lut ------------------------------------------------------------------------------------

def test_od_lut_identity_monochrome2_follows_the_film_gsdf():
    lut = od_lut(8, "MONOCHROME2", "NORMAL", None, 0.20, 3.00)
    assert lut.dtype == np.float32 and lut.shape == (256,)
    for p, published in TABLE_D21.items():
        assert lut[p] == pytest.approx(published, abs=0.002)


def test_od_lut_inversions_monochrome1_reverse_inverse():
    normal = od_lut(12, "MONOCHROME2", "NORMAL", None, 0.20, 3.00)
    assert normal[0] == pytest.approx(3.0) and normal[-1] == pytest.approx(0.2)
    flipped = normal[::-1]
    assert np.array_equal(od_lut(12, "MONOCHROME1", "NORMAL", None, 0.20, 3.00), flipped)
    assert np.array_equal(od_lut(12, "MONOCHROME2", "REVERSE", None, 0.20, 3.00), flipped)
    assert np.array_equal(od_lut(12, "MONOCHROME1", "REVERSE", None, 0.20, 3.00), normal)
    inverse = PresentationLUT.from_shape("INVERSE")
    assert np.array_equal(od_lut(12, "MONOCHROME2", "NORMAL", inverse, 0.20, 3.00), flipped)


def test_od_lut_lin_od_is_linear_in_density_from_dmin():
    lut = od_lut(12, "MONOCHROME2", "NORMAL", PresentationLUT.from_shape("LIN OD"), 0.20, 3.00)
    assert lut[0] == pytest.approx(0.20) and lut[-1] == pytest.approx(3.00)
    assert np.allclose(np.diff(lut.astype(np.float64)), 2.8 / 4095, atol=1e-6)


def test_od_lut_explicit_table_and_match_rule():
    # a 12-bit table that maps every input to P = 2048 of a 12-bit P-value space
    table = PresentationLUT.from_table((4096, 0, 12), np.full(4096, 2048))
    lut = od_lut(12, "MONOCHROME2", "NORMAL", table, 0.20, 3.00, 2000, 10)
    assert np.all(lut == lut[0])
    assert lut[0] == pytest.approx(od_from_pvalues(2048, 12, 0.2, 3.0), abs=1e-6)
    # 8-bit table on 8-bit pixels, output on a 10-bit P scale: input v → P = 4·v
    ramp = PresentationLUT.from_table((256, 0, 10), np.arange(256) * 4)
    lut8 = od_lut(8, "MONOCHROME2", "NORMAL", ramp, 0.20, 3.00)
    assert lut8[100] == pytest.approx(od_from_pvalues(400, 10, 0.2, 3.0), abs=1e-6)
    with pytest.raises(ParameterError, match="LUT Descriptor"):
        od_lut(12, "MONOCHROME2", "NORMAL", ramp, 0.20, 3.00)


def test_od_lut_refuses_bad_words():
    with pytest.raises(VocabularyError, match="Photometric"):
        od_lut(8, "RGB", "NORMAL", None, 0.2, 3.0)
    with pytest.raises(VocabularyError, match="Polarity"):
        od_lut(8, "MONOCHROME2", "SIDEWAYS", None, 0.2, 3.0)
    with pytest.raises(ParameterError, match="bits_stored"):
        od_lut(17, "MONOCHROME2", "NORMAL", None, 0.2, 3.0)


def test_apply_od_lut_maps_a_raster_and_clips_stray_high_bits():
    from printserver.gsdf.pipeline import apply_od_lut
    lut = od_lut(12, "MONOCHROME2", "NORMAL", None, 0.20, 3.00)
    raster = np.array([[0, 4095], [2048, 65535]], dtype=np.uint16)
    od = apply_od_lut(raster, lut)
    assert od.dtype == np.float32 and od.shape == (2, 2)
    assert od[0, 0] == lut[0] and od[0, 1] == lut[4095] and od[1, 0] == lut[2048] and od[1, 1] == lut[4095]


def test_densities_in_hundredths_are_refused_naming_max_density():
    with pytest.raises(ParameterError, match="hundredths") as err:
        od_lut(8, "MONOCHROME2", "NORMAL", None, 20, 300)
    assert err.value.parameter == "max_density"


def test_od_lut_accepts_a_shape_string():
    by_name = od_lut(8, "MONOCHROME2", "NORMAL", "LIN OD", 0.2, 3.0)
    assert np.array_equal(by_name, od_lut(8, "MONOCHROME2", "NORMAL", PresentationLUT.from_shape("LIN OD"), 0.2, 3.0))


def test_softcopy_target_includes_ambient_light():
    from printserver.gsdf.softcopy import jnd_per_pvalue, target_luminance
    seen = target_luminance(np.arange(256), 8, 0.5, 400.0, ambient=1.0)
    emitted = target_luminance(np.arange(256), 8, 0.5, 400.0, ambient=1.0, include_ambient=False)
    assert seen[0] == pytest.approx(1.5) and seen[-1] == pytest.approx(401.0)
    assert np.allclose(seen - emitted, 1.0)
    # equal JND steps: (j(401) − j(1.5)) / 255 per P-value (PS3.14 Annex C)
    j = jnd_from_luminance(seen[1:-1], method="exact")
    assert np.allclose(np.diff(j), jnd_per_pvalue(0.5, 400.0, 1.0), atol=1e-6)
    with pytest.raises(ParameterError, match="ambient"):
        target_luminance(0, 8, 0.5, 400.0, ambient=-1)
    with pytest.raises(ParameterError, match="lmax"):
        target_luminance(0, 8, 400.0, 0.5)
