"""The TG18-QC-like pattern: its grey scale prints as a monotonic density staircase."""

import numpy as np
import pytest

from printserver.config import PrinterConfig
from printserver.layout import FilmSpec, ImageSpec, render_film
from printserver.layout.patterns import tg18_qc_like


@pytest.fixture(scope="module")
def pattern():
    return tg18_qc_like(512, bits_stored=12)


def _patch_centre(i, s=512):
    row, col = divmod(i, 8)
    return int((0.40 + row * 0.11 + 0.02) * s), int((0.14 + col * 0.09 + 0.04) * s)


def test_pattern_values(pattern):
    assert pattern.shape == (512, 512) and pattern.dtype == np.uint16
    assert pattern.min() == 0 and pattern.max() == 4095
    patches = [int(pattern[_patch_centre(i)]) for i in range(16)]
    assert patches == [round(4095 * i / 15) for i in range(16)]
    s = 512
    assert pattern[int(0.735 * s), int(0.375 * s)] == round(0.05 * 4095)  # 5 % inside 0 %
    assert pattern[int(0.68 * s), int(0.32 * s)] == 0
    assert pattern[int(0.735 * s), int(0.625 * s)] == round(0.95 * 4095)  # 95 % inside 100 %


def test_pattern_prints_as_a_density_staircase(pattern):
    printer = PrinterConfig(resolution_dpi={"STANDARD": 50}, image_box_gap_mm=0.0)
    film = render_film(FilmSpec("STANDARD\\1,1", film_size_id="11INX14IN"),
                       [ImageSpec(1, pattern, bits_stored=12, magnification_type="NONE")], printer)
    target = film.placements[0].target
    od = [film.raster[target.y + y, target.x + x] / 1000 for y, x in map(_patch_centre, range(16))]
    assert od[0] == pytest.approx(3.00, abs=0.002) and od[-1] == pytest.approx(0.20, abs=0.002)
    assert all(a > b for a, b in zip(od, od[1:]))  # every step prints lighter


@pytest.mark.parametrize("size", [256, 511])
def test_pattern_refuses_sizes_its_targets_do_not_fit(size):
    with pytest.raises(ValueError, match="at least 512"):
        tg18_qc_like(size)
