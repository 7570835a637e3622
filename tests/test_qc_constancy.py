"""Film printer constancy (issue 11): base + fog, mid density and density difference against a
baseline with configurable limits, on both job store backends; out-of-limit results listed for the
dashboard."""

from __future__ import annotations

import pytest

from printserver.config import Config, OutputConfig, PrinterConfig
from printserver.errors import InputFileError, ParameterError
from printserver.gsdf.conformance import ReadingError
from printserver.gsdf.film_constancy import (ConstancyLimits, ConstancySteps, ConstancyValues,
                                             choose_steps, evaluate_constancy)
from printserver.jobs.services import UnknownPrinterError
from printserver.qc import QCServices
from printserver.qc.errors import UnknownRecordError

#: a printed wedge, step 1 (darkest) … 18: 3.00 … 0.22 OD
WEDGE = [3.00, 2.80, 2.55, 2.30, 2.12, 1.95, 1.70, 1.48, 1.27, 1.10, 0.92, 0.75, 0.60, 0.46,
         0.36, 0.29, 0.25, 0.22]


@pytest.fixture
def qc(job_store, tmp_path):
    printers = (PrinterConfig("FILM", output=OutputConfig(kind="dicom")), PrinterConfig("PAPER"))
    return QCServices(Config(data_dir=tmp_path, printers=printers), job_store)


def full(densities=WEDGE):
    return [{"step": s, "density": d} for s, d in enumerate(densities, start=1)]


def test_steps_are_chosen_nearest_the_aims():
    assert choose_steps(WEDGE) == ConstancySteps(low=14, mid=9, high=5)  # 0.46, 1.27, 2.12


def test_deviations_within_the_limit_pass_and_beyond_fail():
    base = ConstancyValues(0.22, 1.20, 1.80)
    limits = ConstancyLimits()
    assert all(c.passed for c in evaluate_constancy(ConstancyValues(0.25, 1.05, 1.95), base,
                                                    limits))
    checks = {c.name: c for c in evaluate_constancy(ConstancyValues(0.26, 1.36, 1.60), base,
                                                    limits)}
    assert [checks[n].passed for n in ("base_fog", "mid_density", "density_difference")] == [
        False, False, False]
    assert checks["mid_density"].deviation == pytest.approx(0.16)
    assert checks["base_fog"].status == "secondary" and "Agfa" in checks["base_fog"].source
    off = evaluate_constancy(ConstancyValues(0.5, 1.2, 1.8), base,
                             limits.with_overrides({"base_fog": None}))
    assert off[0].passed is None and all(c.passed for c in off[1:])
    with pytest.raises(ParameterError, match="mid_density"):
        ConstancyLimits(mid_density=-0.1)


def test_the_first_measurement_is_the_baseline_and_later_ones_are_judged(qc):
    first = qc.constancy.record("FILM", {"readings": full(), "limits": {"mid_density": "0.10"}},
                                "alice")
    baseline = qc.constancy.baseline("FILM")
    assert first.passed and baseline.measurement_id == first.measurement_id
    assert baseline.steps == ConstancySteps(14, 9, 5)
    assert baseline.values == ConstancyValues(0.22, 1.27, pytest.approx(2.12 - 0.46))
    assert baseline.limits == ConstancyLimits(mid_density=0.10)
    # the tracked steps and base + fog are enough later
    ok = qc.constancy.record("FILM", {"readings": [(5, 2.17), (9, 1.33), (14, 0.48)],
                                      "base_fog": 0.23}, "bob")
    assert ok.passed and ok.baseline_id == baseline.baseline_id
    bad = qc.constancy.record("FILM", {"readings_csv": "step,density\n5,2.12\n9,1.40\n14,0.46\n"
                                                       "18,0.22\n"}, "bob")
    assert not bad.passed and bad.failures == ("mid_density",)
    assert [m.measurement_id for m in qc.constancy.history("FILM")] == [
        bad.measurement_id, ok.measurement_id, first.measurement_id]
    assert [o.to_dict() for o in qc.out_of_limit()] == [{
        "kind": "printer", "name": "FILM", "record_id": bad.measurement_id,
        "measured_at": bad.measured_at, "failures": ["mid_density"], "display_id": None}]
    # a good measurement clears the dashboard
    qc.constancy.record("FILM", {"readings": [(5, 2.12), (9, 1.27), (14, 0.46), (18, 0.22)]},
                        "bob")
    assert qc.out_of_limit() == []


def test_an_explicit_baseline_replaces_the_first(qc):
    qc.constancy.record("PAPER", {"readings": full()}, "alice")
    darker = [round(d + 0.2, 2) for d in WEDGE]
    moved = qc.constancy.record("PAPER", {"readings": full(darker)}, "alice")
    assert not moved.passed
    baseline = qc.constancy.set_baseline("PAPER", "carol", moved.measurement_id,
                                         limits={"density_difference": 0.2})
    assert baseline.measurement_id == moved.measurement_id and baseline.set_by == "carol"
    assert baseline.limits.density_difference == 0.2 and baseline.limits.base_fog == 0.03
    assert baseline.values.mid_density == pytest.approx(darker[baseline.steps.mid - 1])
    again = qc.constancy.record("PAPER", {"readings": full(darker)}, "alice")
    assert again.passed and again.baseline_id == baseline.baseline_id
    custom = qc.constancy.set_baseline("PAPER", "carol", steps={"low": 15, "mid": 10,
                                                                "high": 3})
    assert custom.steps == ConstancySteps(15, 10, 3)
    with pytest.raises(UnknownRecordError):
        qc.constancy.set_baseline("FILM", "carol")
    with pytest.raises(ParameterError, match="steps.top"):
        qc.constancy.set_baseline("PAPER", "carol", steps={"top": 1})


@pytest.mark.parametrize("inputs, error, where", [
    ({"readings": full()[:17]}, ReadingError, "readings"),
    ({"readings": full(WEDGE[:5] + [2.5] + WEDGE[6:])}, ReadingError, "readings[5].density"),
    ({"readings": [{"step": 19, "density": 1.0}]}, ReadingError, "readings[0].step"),
    ({"readings_csv": "step;density\n"}, InputFileError, "densities.csv:1"),
    ({"readings_csv": "step,density\n1,3.0\n2,x\n"}, InputFileError, "densities.csv:3"),
    ({"readings": full(), "base_fog": -0.1}, ParameterError, "base_fog"),
    ({"readings": full(), "limits": {"fog": 0.1}}, ParameterError, "limits.fog"),
    ({"readings": full(), "measured_at": "soon"}, ParameterError, "measured_at"),
])
def test_bad_constancy_input_is_refused_by_field(qc, inputs, error, where):
    with pytest.raises(error) as refused:
        qc.constancy.record("FILM", inputs, "alice")
    named = (f"{refused.value.path}:{refused.value.line}" if isinstance(refused.value, InputFileError)
             else refused.value.parameter)
    assert named == where, str(refused.value)
    assert qc.constancy.history("FILM") == [] and qc.constancy.baseline("FILM") is None


def test_later_measurements_need_the_tracked_steps(qc):
    qc.constancy.record("FILM", {"readings": full()}, "alice")
    with pytest.raises(ReadingError, match="missing step 5"):
        qc.constancy.record("FILM", {"readings": [(9, 1.3), (14, 0.5)], "base_fog": 0.2}, "a")
    with pytest.raises(ReadingError, match="missing step 18"):
        qc.constancy.record("FILM", {"readings": [(5, 2.1), (9, 1.3), (14, 0.5)]}, "a")
    with pytest.raises(ParameterError, match="limits"):
        qc.constancy.record("FILM", {"readings": full(), "limits": {"base_fog": 0.1}}, "a")
    with pytest.raises(UnknownPrinterError):
        qc.constancy.record("NOPE", {"readings": full()}, "alice")
    assert len(qc.constancy.history("FILM")) == 1
