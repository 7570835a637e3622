"""The display registry and display QC sessions (issue 11, "Displays and QC sessions") on both job
store backends: CRUD with bad input refused by field, sessions saved with the results
``evaluate_display`` gives and the limits used, bad input refused with the field or the CSV line
and nothing already saved lost, history in time order, the dashboard's out-of-limit list, and the
downloads (readings CSV round trip, LUT files, the evaluation JSON)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from printserver.config import Config
from printserver.errors import InputFileError, ParameterError
from printserver.gsdf.conformance import ReadingError, evaluate_display
from printserver.gsdf.qc_limits import QCLimits
from printserver.gsdf.readings import parse_readings_csv
from printserver.gsdf.uniformity import evaluate_uniformity
from printserver.qc import QCServices
from printserver.qc.errors import DuplicateDisplayError, RecordInUseError, UnknownRecordError
from test_gsdf_conformance import AMBIENT, GAMMA_22, P8, PASSES_10, PASSES_20


@pytest.fixture
def qc(job_store, tmp_path):
    return QCServices(Config(data_dir=tmp_path), job_store)


def readings(lum):
    return [{"ddl": d, "luminance": v} for d, v in zip(P8, lum)]


def session_input(lum=PASSES_10, **extra):
    return {"readings": readings(lum), "ambient": AMBIENT, "photometer_model": "i1Display Pro",
            "photometer_serial": "J123", **extra}


def when(days_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat()


# -- the registry --------------------------------------------------------------------------------

def test_register_read_change_retire_and_remove_a_display(qc):
    d = qc.displays.create({"name": " RAD-3 left ", "workstation": "RAD-3", "location": "room 12",
                            "display_class": "Secondary", "target_lmax": "420",
                            "target_luminance_ratio": 350, "limits": {"min_lmax_prime": "150",
                                                                      "max_median_deviation": 0.2},
                            "notes": "EIZO RX350\nserial 99"}, "alice")
    assert (d.name, d.display_class, d.target_lmax, d.created_by) == ("RAD-3 left", "secondary",
                                                                      420.0, "alice")
    assert d.limits == {"min_lmax_prime": 150.0, "max_median_deviation": 0.2}
    assert d.qc_limits == QCLimits.for_class("secondary").with_overrides(d.limits)
    assert qc.displays.get(d.display_id) == d == qc.displays.get_by_name("RAD-3 left")
    changed = qc.displays.update(d.display_id, {"location": "room 14",
                                                "limits": {"contrast_response": ""}}, "bob")
    assert changed.location == "room 14" and changed.limits == {"contrast_response": None}
    assert changed.qc_limits.contrast_response is None and changed.updated_at >= d.updated_at
    other = qc.displays.create({"name": "RAD-3 right"}, "alice")
    assert other.display_class == "primary" and other.limits == {}
    assert [x.name for x in qc.displays.list()] == ["RAD-3 left", "RAD-3 right"]
    qc.displays.retire(d.display_id, "bob")
    assert [x.name for x in qc.displays.list()] == ["RAD-3 right"]
    assert [x.name for x in qc.displays.list(include_retired=True)] == ["RAD-3 left",
                                                                        "RAD-3 right"]
    qc.displays.delete(other.display_id, "bob")
    with pytest.raises(UnknownRecordError):
        qc.displays.get(other.display_id)
    assert qc.displays.get(d.display_id).to_dict()["retired"] is True


@pytest.mark.parametrize("fields, parameter", [
    ({"name": ""}, "name"),
    ({"workstation": "W"}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"name": "a\tb"}, "name"),
    ({"name": "D", "display_class": "tertiary"}, "display_class"),
    ({"name": "D", "target_lmax": "bright"}, "target_lmax"),
    ({"name": "D", "target_lmax": -5}, "target_lmax"),
    ({"name": "D", "target_luminance_ratio": 1}, "target_luminance_ratio"),
    ({"name": "D", "limits": {"contrast_response": -0.1}}, "limits.contrast_response"),
    ({"name": "D", "limits": {"contrast": 0.1}}, "limits.contrast"),
    ({"name": "D", "limits": {"min_lmax_prime": "a lot"}}, "limits.min_lmax_prime"),
    ({"name": "D", "limits": [0.1]}, "limits"),
    ({"name": "D", "retired": "maybe"}, "retired"),
    ({"name": "D", "colour": "red"}, "colour"),
])
def test_bad_display_fields_are_refused_by_name(qc, fields, parameter):
    with pytest.raises(ParameterError) as refused:
        qc.displays.create(fields, "alice")
    assert refused.value.parameter == parameter
    assert qc.displays.list(include_retired=True) == []


def test_a_display_name_is_unique(qc):
    a = qc.displays.create({"name": "RAD-1"}, "alice")
    b = qc.displays.create({"name": "RAD-2"}, "alice")
    with pytest.raises(DuplicateDisplayError) as refused:
        qc.displays.create({"name": "RAD-1", "workstation": "other"}, "bob")
    assert refused.value.parameter == "name" and "RAD-1" in str(refused.value)
    with pytest.raises(DuplicateDisplayError):
        qc.displays.update(b.display_id, {"name": "RAD-1"}, "bob")
    assert qc.displays.get(b.display_id).name == "RAD-2"
    assert qc.displays.get(a.display_id).workstation == ""


def test_a_display_with_sessions_is_retired_not_removed(qc):
    d = qc.displays.create({"name": "RAD-1"}, "alice")
    qc.sessions.record(d.display_id, session_input(), "alice")
    with pytest.raises(RecordInUseError, match="retire it"):
        qc.displays.delete(d.display_id, "bob")
    assert len(qc.sessions.list(d.display_id)) == 1
    with pytest.raises(UnknownRecordError):
        qc.displays.delete(999, "bob")


# -- sessions ------------------------------------------------------------------------------------

def test_a_session_stores_what_evaluate_display_computes(qc):
    d = qc.displays.create({"name": "RAD-1", "target_lmax": 400}, "alice")
    uniformity = {"UN10": [40.1, 39.0, 41.2, 38.5, 40.0], "UN80": [300, 290, 280, 295, 305]}
    s = qc.sessions.record(d.display_id, session_input(
        uniformity=uniformity, visual={"TG18-QC": {"passed": True, "comment": "all visible"},
                                       "tg18-ct": {"passed": "on"}},
        notes="after cleaning", measured_at=when(1)), "alice")
    expected = evaluate_display(P8, PASSES_10, AMBIENT, "primary", d.qc_limits)
    assert s.evaluation == json.loads(json.dumps(expected.as_dict()))
    assert s.results["uniformity"]["UN80"] == json.loads(json.dumps(
        evaluate_uniformity(uniformity["UN80"], AMBIENT, d.qc_limits).as_dict()))
    assert s.results["limits"] == d.qc_limits.as_dict()
    assert s.results["visual"] == {"TG18-QC": {"passed": True, "comment": "all visible"},
                                   "TG18-CT": {"passed": True, "comment": ""}}
    assert s.results["targets"]["lmax_prime"]["target"] == 400.0
    assert s.passed and s.results["pass"] and s.results["failures"] == []
    assert (s.measured_by, s.photometer_model, s.photometer_serial, s.level_set) == (
        "alice", "i1Display Pro", "J123", "TG18-LN8")
    assert s.lmax_prime == pytest.approx(expected.response.lmax_prime)
    assert qc.sessions.get(s.session_id) == s
    # the JSON download is the JSON of POST /api/qc/evaluate
    assert json.loads(qc.session_download(s.session_id, "json").content) == s.evaluation
    # a later change of the display's limits leaves the stored results as they were
    qc.displays.update(d.display_id, {"display_class": "secondary"}, "bob")
    assert qc.sessions.get(s.session_id).results["limits"]["contrast_response"] == 0.10


def test_failures_are_named_and_the_class_limits_apply(qc):
    primary = qc.displays.create({"name": "P"}, "alice")
    secondary = qc.displays.create({"name": "S", "display_class": "secondary"}, "alice")
    failed = qc.sessions.record(primary.display_id, session_input(
        PASSES_20, uniformity={"UN80": [300, 200, 280, 295, 305]},
        visual={"TG18-CT": {"passed": False, "comment": "two half-moons missing"}}), "alice")
    assert not failed.passed
    assert failed.results["failures"] == ["contrast_response", "UN80 max_uniformity_deviation",
                                          "visual TG18-CT"]
    assert qc.sessions.record(secondary.display_id, session_input(PASSES_20), "alice").passed
    assert not qc.sessions.record(secondary.display_id, session_input(GAMMA_22), "alice").passed


@pytest.mark.parametrize("change, error, where", [
    ({"readings": readings(PASSES_10[:5] + [PASSES_10[3]] + PASSES_10[6:])}, ReadingError,
     "readings[5].luminance"),
    ({"readings": readings([-1.0] + PASSES_10[1:])}, ReadingError, "readings[0].luminance"),
    ({"readings": readings(PASSES_10)[1:]}, ReadingError, "readings"),
    ({"readings": [{"ddl": 0, "luminance": "bright"}]}, ReadingError, "readings[0].luminance"),
    ({"readings": [{"ddl": 0, "lum": 1}]}, ReadingError, "readings[0]"),
    ({"readings": None, "readings_csv": "DDL;L\n0;1\n"}, InputFileError, "readings.csv:1"),
    ({"readings": None, "readings_csv": "ddl,luminance\n" + "".join(
        f"{d},{v}\n" for d, v in zip(P8, PASSES_10[:-1] + [0.1]))}, InputFileError,
     "readings.csv:19"),
    ({"readings_csv": "ddl,luminance\n0,1\n"}, ParameterError, "readings"),
    ({"readings": None}, ParameterError, "readings"),
    ({"ambient": -1}, ParameterError, "ambient"),
    ({"uniformity": {"UN80": [300, 290, 280]}}, ParameterError, "uniformity.UN80"),
    ({"uniformity": {"UN80": [300, 290, -280, 295, 305]}}, ParameterError, "uniformity.UN80[2]"),
    ({"uniformity": {"UN50": [300, 290, 280, 295, 305]}}, ParameterError, "uniformity.UN50"),
    ({"visual": {"TG18-XX": {"passed": True}}}, ParameterError, "visual.TG18-XX"),
    ({"visual": {"TG18-QC": {"passed": "perhaps"}}}, ParameterError, "visual.TG18-QC.passed"),
    ({"visual": {"TG18-QC": {"comment": "x" * 501}}}, ParameterError, "visual.TG18-QC.comment"),
    ({"measured_at": "yesterday"}, ParameterError, "measured_at"),
    ({"measured_at": when(-2)}, ParameterError, "measured_at"),
    ({"photometer_model": "x" * 65}, ParameterError, "photometer_model"),
    ({"operator": "x"}, ParameterError, "operator"),
])
def test_bad_session_input_is_refused_by_field_and_nothing_saved_is_lost(qc, change, error, where):
    d = qc.displays.create({"name": "RAD-1"}, "alice")
    first = qc.sessions.record(d.display_id, session_input(), "alice")
    bad = {**session_input(), **change}
    with pytest.raises(error) as refused:
        qc.sessions.record(d.display_id, bad, "bob")
    named = (f"{refused.value.path}:{refused.value.line}" if isinstance(refused.value, InputFileError)
             else refused.value.parameter)
    assert named == where, str(refused.value)
    with pytest.raises(error):
        qc.sessions.evaluate(d.display_id, bad)
    assert qc.sessions.list(d.display_id) == [first]
    assert qc.displays.get(d.display_id) == d


def test_a_session_needs_a_display_in_service_and_someone_who_measured(qc):
    d = qc.displays.create({"name": "RAD-1"}, "alice")
    with pytest.raises(ParameterError, match="actor"):
        qc.sessions.record(d.display_id, session_input(), " ")
    qc.displays.retire(d.display_id, "bob")
    with pytest.raises(ParameterError, match="retired"):
        qc.sessions.record(d.display_id, session_input(), "alice")
    with pytest.raises(UnknownRecordError):
        qc.sessions.record(12345, session_input(), "alice")
    assert qc.store.sessions(d.display_id) == []


def test_evaluate_shows_the_results_without_saving(qc):
    d = qc.displays.create({"name": "RAD-1"}, "alice")
    checked = qc.sessions.evaluate(d.display_id, session_input(PASSES_20))
    assert not checked.passed and checked.failures == ("contrast_response",)
    assert checked.results["evaluation"] == checked.evaluation.as_dict()
    assert qc.sessions.list(d.display_id) == []


def test_history_is_in_time_order_and_the_sessions_newest_first(qc):
    d = qc.displays.create({"name": "RAD-1"}, "alice")
    made = {days: qc.sessions.record(d.display_id, session_input(lum, measured_at=when(days)),
                                     "alice")
            for days, lum in ((3, PASSES_10), (10, GAMMA_22), (1, PASSES_20))}
    history = qc.sessions.history(d.display_id)
    assert [h.session_id for h in history] == [made[10].session_id, made[3].session_id,
                                               made[1].session_id]
    assert [h.passed for h in history] == [False, True, False]
    assert history[1].lmax_prime == pytest.approx(made[3].lmax_prime)
    assert history[1].luminance_ratio == pytest.approx(made[3].luminance_ratio)
    assert [s.session_id for s in qc.sessions.list(d.display_id, limit=2)] == [
        made[1].session_id, made[3].session_id]


def test_out_of_limit_lists_displays_whose_newest_session_failed(qc):
    good = qc.displays.create({"name": "A good"}, "alice")
    bad = qc.displays.create({"name": "B bad"}, "alice")
    gone = qc.displays.create({"name": "C retired"}, "alice")
    qc.sessions.record(good.display_id, session_input(GAMMA_22, measured_at=when(5)), "alice")
    qc.sessions.record(good.display_id, session_input(PASSES_10, measured_at=when(1)), "alice")
    failing = qc.sessions.record(bad.display_id, session_input(PASSES_20), "alice")
    qc.sessions.record(gone.display_id, session_input(GAMMA_22), "alice")
    qc.displays.retire(gone.display_id, "bob")
    found = qc.out_of_limit()
    assert [o.to_dict() for o in found] == [{
        "kind": "display", "name": "B bad", "record_id": failing.session_id,
        "measured_at": failing.measured_at, "failures": ["contrast_response"],
        "display_id": bad.display_id}]


def test_readings_csv_export_imports_to_the_same_results(qc):
    d = qc.displays.create({"name": "RAD/3 \"left\""}, "alice")
    s = qc.sessions.record(d.display_id, session_input(), "alice")
    export = qc.session_download(s.session_id, "readings")
    assert export.filename.startswith("RAD_3_left_qc") and export.media_type == "text/csv"
    again = qc.sessions.record(d.display_id, {"readings_csv": export.content.decode(),
                                              "ambient": AMBIENT}, "bob")
    assert again.evaluation == s.evaluation
    lut = qc.session_download(s.session_id, "lut-csv").content.decode().splitlines()
    assert lut[0] == "input,output" and len(lut) == 257
    cal = qc.session_download(s.session_id, "lut-cal").content.decode()
    assert cal.startswith("CAL") and "NUMBER_OF_SETS 256" in cal
    dcmtk = qc.session_download(s.session_id, "lut-dcmtk").content.decode()
    assert "max 255" in dcmtk and f"amb {AMBIENT:g}" in dcmtk
    with pytest.raises(ParameterError, match="kind"):
        qc.session_download(s.session_id, "xls")
    assert parse_readings_csv(export.content.decode()).luminance.tolist() == PASSES_10
