"""Printer emulation profiles (issue 12): DCMTK's dcmpstat.cfg reader, the effective printer with
the origin of every value, ``printserver printers show``, and a printer answering with its
profile's values over a real association."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from printserver.config import load_config
from printserver.errors import ConfigError
from printserver.profiles.dcmtk import parse_config, printer_entries, profile_values
from scp_fixtures import (META, PRINTER_CONFIGURATION, PRINTER_CONFIGURATION_INSTANCE,
                          InProcessServer)

DEBIAN_CFG = Path("/etc/dcmtk/dcmpstat.cfg")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def _debian_file() -> None:
    if not DEBIAN_CFG.is_file():
        pytest.fail(f"{DEBIAN_CFG} missing: run the suite through scripts/test (Debian dcmtk)")


# -- the reader ---------------------------------------------------------------------------------

def test_reader_finds_the_printers_of_the_debian_sample() -> None:
    """The [[COMMUNICATION]] entries of type PRINTER / LOCALPRINTER of Debian's file, in order;
    storage and receiver entries are not printers."""
    printers = printer_entries(DEBIAN_CFG)
    assert list(printers) == ["IHEFULL", "IHERESTRICTED", "IHEFULL_TLS", "IHERESTRICT_TLS"]
    full = printers["IHEFULL"]
    assert full.kind == "LOCALPRINTER" and full.get("aetitle") == "IHEFULL"
    assert full.list("DisplayFormat")[:3] == ("1,1", "1,2", "2,2")
    assert full.flag("SupportsTrim", False) is True


def test_ihefull_profile_values() -> None:
    values = profile_values(printer_entries(DEBIAN_CFG)["IHEFULL"])
    assert values["film_sizes"] == ("8INX10IN", "10INX12IN", "10INX14IN", "11INX14IN",
                                    "14INX14IN", "14INX17IN", "24CMX24CM", "24CMX30CM")
    assert values["default_film_size"] == "8INX10IN"
    assert values["medium_types"] == ("PAPER", "CLEAR FILM", "BLUE FILM")
    assert values["film_destinations"] == ("MAGAZINE", "PROCESSOR", "BIN_1", "BIN_2")
    assert values["default_magnification_type"] == "REPLICATE"
    assert values["smoothing_types"] == ("NONE",)
    assert values["resolution_dpi"] == {"STANDARD": 320.0, "HIGH": 508.0}
    # portrait C,R and their landscape form
    assert "STANDARD\\3,5" in values["display_formats"]
    assert "STANDARD\\5,3" in values["display_formats"]
    assert (values["default_border_density"], values["default_empty_image_density"]) == (
        "150", "20")
    assert (values["min_density"], values["max_density"]) == (20, 320)
    assert values["supports_trim"] and values["supports_12_bit"]
    assert values["supports_presentation_lut"]


def test_iherestricted_profile_values() -> None:
    values = profile_values(printer_entries(DEBIAN_CFG)["IHERESTRICTED"])
    assert values["display_formats"] == ("STANDARD\\1,1",)
    assert values["medium_types"] == ("STOREDPRINT",)
    assert values["film_destinations"] == ("STOREDPRINT",)
    assert values["smoothing_types"] == ()  # no SmoothingType: not supported (as in DCMTK)
    assert values["supports_trim"] is False  # DCMTK's default
    assert "min_density" not in values and "resolution_dpi" not in values


def test_reader_format_rules() -> None:
    """Keywords and sections any case, comments, continuation lines (line feed kept), the first
    of a repeated keyword, Annotation and Configuration_n."""
    text = ("# comment\n[[COMMUNICATION]]\n[myprinter]\ntype = printer\n"
            "filmsizeid = A4\\13INX18IN\n"
            "Annotation = 2\\COMBINED\nConfiguration_1 = gamma=2.2 Kanamori\n"
            "Configuration_2 = first line\n  second line\nConfiguration_3 = x\n"
            "FilmSizeID = A3\n")
    entry = parse_config(text)["COMMUNICATION"]["MYPRINTER"]
    assert entry.is_printer
    values = profile_values(entry)
    assert values["film_sizes"] == ("A4",)  # 13INX18IN is not a size printserver knows
    assert values["annotation_formats"] == {"COMBINED": 2}
    assert values["configuration_information"] == ("gamma=2.2 Kanamori",
                                                   "first line\nsecond line", "x")
    with pytest.raises(ConfigError, match="line 2"):
        parse_config("[[A]]\nno equals sign here\n")
    with pytest.raises(ConfigError, match="DisplayFormat"):
        profile_values(parse_config("[[C]]\n[P]\nType = PRINTER\nDisplayFormat = 2x2\n")["C"]["P"])


# -- the effective printer ----------------------------------------------------------------------

def _config(tmp_path: Path, toml: str):
    path = tmp_path / "printserver.toml"
    path.write_text(toml)
    return load_config(path, data_dir=tmp_path / "data")


def test_effective_printer_config_over_profile_over_default(tmp_path: Path) -> None:
    config = _config(tmp_path, f'[[printers]]\nprofile = "dcmtk:{DEBIAN_CFG}#IHEFULL"\n'
                               'max_density = 310\nfilm_sizes = ["14INX17IN", "A4"]\n')
    p = config.printers[0]
    assert (p.max_density, p.origins["max_density"]) == (310, "config")
    assert (p.min_density, p.origins["min_density"]) == (20, "profile")
    assert (p.smoothing_types, p.origins["smoothing_types"]) == (("NONE",), "profile")
    assert (p.illumination, p.origins["illumination"]) == (2000, "default")
    # a list from the file, its default from the profile but not in the list: the list's first
    assert p.film_sizes == ("14INX17IN", "A4")
    assert (p.default_film_size, p.origins["default_film_size"]) == ("14INX17IN", "config")
    assert p.profile_source == f"DCMTK printer entry IHEFULL of {DEBIAN_CFG}"


@pytest.mark.parametrize("profile,match", [
    ("dcmtk:/nonexistent/dcmpstat.cfg#IHEFULL", "nonexistent"),
    (f"dcmtk:{DEBIAN_CFG}#STORE_1", "no printer entry 'STORE_1'"),
    (f"dcmtk:{DEBIAN_CFG}", "dcmtk:PATH#PRINTER"),
    ("downstream", "needs a dicom output"),
    ("agfa:drystar", "not dcmtk:PATH#PRINTER or downstream"),
])
def test_bad_profile_is_a_config_error(tmp_path: Path, profile: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _config(tmp_path, f'[[printers]]\nprofile = "{profile}"\n')


def test_profile_inconsistent_with_the_file_names_both(tmp_path: Path) -> None:
    """A default from the file that the profile's list lacks: the error names the key, the
    printer and the profile."""
    with pytest.raises(ConfigError, match="default_film_size 'A4' is not in film_sizes.*"
                                          "IHERESTRICTED"):
        _config(tmp_path, f'[[printers]]\nprofile = "dcmtk:{DEBIAN_CFG}#IHERESTRICTED"\n'
                          'default_film_size = "A4"\n')
    with pytest.raises(ConfigError, match="medium_types is empty"):
        _config(tmp_path, f'[[printers]]\nprofile = "dcmtk:{DEBIAN_CFG}#IHERESTRICTED"\n'
                          'medium_types = []\n')


def test_printers_show_prints_every_value_and_its_origin(tmp_path: Path) -> None:
    cfg = tmp_path / "printserver.toml"
    cfg.write_text(f'[[printers]]\nae_title = "EMUL"\nprofile = "dcmtk:{DEBIAN_CFG}#IHEFULL"\n'
                   'max_density = 310\n')
    base = [sys.executable, "-m", "printserver", "printers", "show", "EMUL", "--config", str(cfg),
            "--data-dir", str(tmp_path / "data")]
    out = subprocess.run(base + ["--json"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["profile"] == f"dcmtk:{DEBIAN_CFG}#IHEFULL"
    values = shown["values"]
    assert values["max_density"] == {"value": 310, "origin": "config"}
    assert values["smoothing_types"] == {"value": ["NONE"], "origin": "profile"}
    assert values["film_destinations"]["value"][2:] == ["BIN_1", "BIN_2"]
    assert values["illumination"] == {"value": 2000, "origin": "default"}
    assert values["output"]["value"]["kind"] == "pdf"
    assert {v["origin"] for v in values.values()} == {"default", "profile", "config"}
    text = subprocess.run(base, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert text.returncode == 0, text.stderr
    line = next(ln for ln in text.stdout.splitlines() if ln.startswith("smoothing_types "))
    assert line.split() == ["smoothing_types", "profile", "NONE"]
    assert any(ln.split()[:2] == ["output.kind", "default"] for ln in text.stdout.splitlines())
    unknown = subprocess.run(base[:5] + ["NOPE"] + base[6:], capture_output=True, text=True,
                             cwd=REPO, timeout=60)
    assert unknown.returncode != 0 and "NOPE" in unknown.stderr


def test_printer_answers_and_validates_with_its_profile(tmp_path: Path) -> None:
    """A printer emulating IHERESTRICTED over a real association: Printer Configuration
    Retrieval lists the profile's media, sizes and format; STANDARD\\2,2 is refused (0106: the
    display format decides the image boxes, never replaced); PAPER gets STOREDPRINT with 0116."""
    srv = InProcessServer(tmp_path / "srv", f'[[printers]]\nprofile = '
                                            f'"dcmtk:{DEBIAN_CFG}#IHERESTRICTED"\n')
    try:
        with srv.scu(contexts=(META, PRINTER_CONFIGURATION)) as scu:
            r = scu.get(PRINTER_CONFIGURATION, PRINTER_CONFIGURATION_INSTANCE)
            item = r.dataset.PrinterConfigurationSequence[0]
            assert item.MediaInstalledSequence[0].MediumType == "STOREDPRINT"
            assert item.MediaInstalledSequence[0].FilmSizeID == "8INX10IN"
            assert item.MediaInstalledSequence[0].MaxDensity == 320
            assert {f.ImageDisplayFormat for f in item.SupportedImageDisplayFormatsSequence} == {
                "STANDARD\\1,1"}
            assert "DefaultSmoothingType" not in item
            from pydicom.dataset import Dataset
            session = Dataset()
            session.MediumType = "PAPER"
            created = scu.create("1.2.840.10008.5.1.1.1", session)
            assert created.status == 0x0116 and created.dataset.MediumType == "STOREDPRINT"
            assert scu.film_box(created.affected_uid, "STANDARD\\2,2").status == 0x0106
            fb = scu.film_box(created.affected_uid, "STANDARD\\1,1", SmoothingType="NONE")
            assert fb.status == 0x0107  # no Smoothing Type on this printer: ignored (strict 0105)
            assert fb.dataset.FilmSizeID == "8INX10IN"
    finally:
        srv.stop()


def test_profiles_sit_with_the_configuration() -> None:
    """printserver/profiles/ is configuration-level: it imports no part of the pipeline (the
    film printer is asked by the dicom output, printserver.outputs.dicom_printer)."""
    from test_layering import GRAPH

    allowed = ("printserver.profiles", "printserver.config", "printserver.errors",
               "printserver.vocabulary", "printserver.durable")
    for module, imported in GRAPH.items():
        if module.startswith("printserver.profiles"):
            outside = {m for m in imported if not m.startswith(allowed)}
            assert not outside, f"{module} imports {sorted(outside)}"


def test_effective_printer_of_a_printer_built_in_code(tmp_path: Path) -> None:
    """Values given in code count as set (they are not reset to the defaults), and resolving
    again changes nothing."""
    from printserver.config import PrinterConfig
    from printserver.profiles.effective import effective_printer

    built = PrinterConfig(ae_title="CODE", profile=f"dcmtk:{DEBIAN_CFG}#IHEFULL", max_density=280)
    once = effective_printer(built, tmp_path)
    assert (once.ae_title, once.max_density) == ("CODE", 280)
    assert once.origins["max_density"] == "config" and once.origins["min_density"] == "profile"
    assert effective_printer(once, tmp_path) == once
