"""The printer calibration step wedge (issue 11): 18 labelled steps in equal P-value steps over the
full range (PS3.14 Annex D.2.1), each large enough for a densitometer, in the pattern tables of
``printserver print --pattern`` and ``printserver qc pattern``."""

from __future__ import annotations

import numpy as np
import pytest

from printserver.layout.patterns import PATTERNS
from printserver.layout.qc_patterns import QC_PATTERNS, render_pattern
from printserver.layout.step_wedge import (NAME, STEP_COUNT, measurement_area, step_cells,
                                           step_pvalues, step_wedge)
from printserver.scu.images import pattern_image


@pytest.mark.parametrize("bits, expected", [
    (8, list(range(0, 256, 15))),
    (12, [round(4095 * i / 17) for i in range(18)]),
])
def test_each_step_holds_its_p_value_over_its_measurement_area(bits, expected):
    assert step_pvalues(bits).tolist() == expected and STEP_COUNT == 18
    for size in (1024, 2048):
        pixels = step_wedge(size, bits)
        assert pixels.dtype == (np.uint8 if bits == 8 else np.uint16)
        for step, value in enumerate(expected, start=1):
            x0, y0, x1, y1 = measurement_area(size, step)
            assert np.all(pixels[y0:y1, x0:x1] == value), step
        # the label of each step (its number and P-value) is in the step, outside that area
        x0, y0, x1, y1 = step_cells(size)[0]
        assert np.any(pixels[y0:y0 + size // 30, x0:x0 + size // 8] != expected[0])


def test_steps_are_large_enough_for_a_densitometer():
    cells = step_cells(1024)
    width = min(x1 - x0 for x0, _, x1, _ in cells)
    height = min(y1 - y0 for _, y0, _, y1 in cells)
    for film_mm in (355.6, 210.0):  # the pattern across a 14 × 17 inch film, across A4 paper
        mm_per_pixel = film_mm / 1024
        assert height * mm_per_pixel / 2 >= 15  # the measurement area alone: ≥ 15 mm high
        assert width * mm_per_pixel / 2 >= 30
    assert len(cells) == STEP_COUNT and len(set(cells)) == STEP_COUNT


def test_in_both_pattern_tables():
    assert NAME == "STEP-WEDGE" and NAME in PATTERNS and NAME in QC_PATTERNS
    image = render_pattern("step-wedge", 1024, 12)
    assert np.array_equal(image.pixels, step_wedge(1024, 12)) and image.full_scale == 4095
    printed = pattern_image(NAME, 8)
    assert printed.bits_stored == 8 and np.array_equal(printed.pixels, step_wedge(1024, 8))
