"""GSDF target curves (printserver gsdf curve, the web's curve plot): PS3.14 §7.1 / §7.2 end points
and equal JND spacing, parameters checked by name."""

import numpy as np
import pytest

from printserver.errors import ParameterError
from printserver.gsdf.gsdf import jnd_from_luminance
from printserver.gsdf.target import display_target, film_target


def test_display_target_spans_the_range_with_ambient_in_equal_jnd_steps():
    curve = display_target(0.5, 400.0, ambient=1.0, levels=256)
    assert curve.columns == ("ddl", "jnd", "luminance") and curve.od is None
    assert curve.levels == 256 and curve.ddl.tolist() == list(range(256))
    assert curve.luminance[0] == pytest.approx(1.5) and curve.luminance[-1] == pytest.approx(401.0)
    steps = np.diff(curve.jnd)
    assert np.allclose(steps, steps[0])
    assert np.allclose(jnd_from_luminance(curve.luminance), curve.jnd, atol=0.05)


def test_film_target_gives_densities_from_max_to_min():
    curve = film_target(0.20, 3.00, illumination=2000.0, ambient=10.0, levels=4096)
    assert curve.columns == ("ddl", "jnd", "luminance", "od")
    assert curve.od[0] == pytest.approx(3.00) and curve.od[-1] == pytest.approx(0.20)
    assert np.all(np.diff(curve.od) < 0) and np.all(np.diff(curve.luminance) > 0)
    # L = La + L0 10^-D (PS3.14 §7.2)
    assert np.allclose(curve.luminance, 10.0 + 2000.0 * 10.0 ** -curve.od, rtol=1e-6)


@pytest.mark.parametrize("call, parameter", [
    (lambda: display_target(0.5, 400.0, levels=1), "levels"),
    (lambda: display_target(0.5, 400.0, levels=65537), "levels"),
    (lambda: display_target(400.0, 0.5), "lmax"),
    (lambda: display_target(0.5, 400.0, ambient=-1.0), "ambient"),
    (lambda: film_target(3.0, 0.2), "min_density"),
    (lambda: film_target(0.2, 3.0, illumination=0.0), "illumination"),
])
def test_impossible_parameters_are_named(call, parameter):
    with pytest.raises(ParameterError) as err:
        call()
    assert err.value.parameter == parameter
