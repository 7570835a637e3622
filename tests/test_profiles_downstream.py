"""The ``downstream`` profile (issue 12): a printer whose output is a DICOM film printer takes that
printer's own answer (Printer and Printer Configuration Retrieval N-GET), asked by ``serve`` at
start and by ``printserver printers refresh``, kept durably under the data folder.

The film printer is a second printserver (which answers Printer Configuration Retrieval) or
DCMTK's ``dcmprscp`` (which refuses it); all on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import require_tool
from dcmtk_print import DcmprscpServer
from printserver.config import load_config
from printserver.jobs.services import refresh_downstream
from printserver.jobs.worker import Worker
from printserver.profiles import downstream
from scp_fixtures import (FILM_BOX, IMAGE_BOX, META, PRINTER, PRINTER_CONFIGURATION,
                          PRINTER_CONFIGURATION_INSTANCE, PRINTER_INSTANCE, InProcessServer,
                          PrintSCU, free_port, image_box_ds)

REPO = Path(__file__).resolve().parent.parent
#: the film printer: a printserver with its own, non-default capabilities
FILM_PRINTER = """
[[printers]]
ae_title = "FILMPRN"
name = "Film printer A"
manufacturer = "Acme Imaging"
model = "DryFilm 9"
film_sizes = ["8INX10IN", "14INX17IN"]
default_film_size = "8INX10IN"
medium_types = ["CLEAR FILM", "BLUE FILM"]
default_medium_type = "CLEAR FILM"
resolution_dpi = { STANDARD = 300, FINE = 600 }
smoothing_types = ["SOFT", "HARD"]
min_density = 15
max_density = 310
"""


def upstream_toml(port: int, mode: str = "boxes") -> str:
    return ('[workers]\ncount = 0\n[[printers]]\nae_title = "UP"\nprofile = "downstream"\n'
            'max_density = 290\n'
            f'output = {{ kind = "dicom", host = "127.0.0.1", port = {port}, '
            f'called_aet = "FILMPRN", mode = "{mode}", timeout = 5 }}\n')


def cli(*args: str, config: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "printserver", *args, "--config", str(config),
                           "--data-dir", str(data_dir)], capture_output=True, text=True,
                          cwd=REPO, timeout=120)


def shown(config: Path, data_dir: Path) -> dict[str, Any]:
    out = cli("printers", "show", "UP", "--json", config=config, data_dir=data_dir)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def film_printer(tmp_path: Path):
    srv = InProcessServer(tmp_path / "filmprinter", FILM_PRINTER)
    yield srv
    srv.stop()


def test_refresh_show_and_the_scp_answers_with_the_film_printers_values(
        tmp_path: Path, film_printer: InProcessServer, print_scp_factory: Any) -> None:
    """``printers refresh`` asks the film printer and keeps its answer; ``printers show`` gives
    each value with its origin; serve (which asks again at start) answers Printer and Printer
    Configuration Retrieval N-GET with the film printer's values and validates with them."""
    config, data = tmp_path / "up.toml", tmp_path / "updata"
    config.write_text(upstream_toml(film_printer.port))
    out = cli("printers", "refresh", "--json", config=config, data_dir=data)
    assert out.returncode == 0, out.stderr
    (result,) = json.loads(out.stdout)
    assert result["ae_title"] == "UP" and result["answered"] is True
    cached = json.loads(downstream.cache_path(data, "UP").read_text())
    assert cached["format"] == 1 and cached["configuration"] is not None

    values = shown(config, data)["values"]
    assert values["film_sizes"] == {"value": ["8INX10IN", "14INX17IN"], "origin": "profile"}
    assert values["default_film_size"] == {"value": "8INX10IN", "origin": "profile"}
    assert values["medium_types"]["value"] == ["CLEAR FILM", "BLUE FILM"]
    assert values["resolution_dpi"] == {"value": {"STANDARD": 300.0, "FINE": 600.0},
                                        "origin": "profile"}
    assert values["smoothing_types"] == {"value": ["SOFT", "HARD"], "origin": "profile"}
    assert values["manufacturer"] == {"value": "Acme Imaging", "origin": "profile"}
    assert values["min_density"] == {"value": 15, "origin": "profile"}
    assert values["max_density"] == {"value": 290, "origin": "config"}  # the file wins
    assert values["illumination"]["origin"] == "default"

    scp = print_scp_factory(upstream_toml(film_printer.port), data_dir=data)
    with PrintSCU(scp.port, called="UP", contexts=(META, PRINTER_CONFIGURATION)) as scu:
        printer = scu.get(PRINTER, PRINTER_INSTANCE).dataset
        assert (printer.Manufacturer, printer.PrinterName) == ("Acme Imaging", "Film printer A")
        item = scu.get(PRINTER_CONFIGURATION, PRINTER_CONFIGURATION_INSTANCE
                       ).dataset.PrinterConfigurationSequence[0]
        media = [item.MediaInstalledSequence[0]] + list(item.OtherMediaAvailableSequence)
        assert {m.FilmSizeID for m in media} == {"8INX10IN", "14INX17IN"}
        assert item.DefaultSmoothingType == "SOFT"
        session = scu.film_session()
        assert scu.film_box(session, FilmSizeID="14INX17IN", SmoothingType="HARD",
                            RequestedResolutionID="FINE").status == 0
        refused = scu.film_box(session, FilmSizeID="A4")
        assert refused.status == 0x0116 and refused.dataset.FilmSizeID == "8INX10IN"
    assert "answered" in scp.log_path.read_text()  # serve asked at start


def test_film_printer_down_keeps_the_last_answer_then_defaults(
        tmp_path: Path, print_scp_factory: Any) -> None:
    """A film printer that does not answer: ``refresh`` exits 1 and says the previous answer is
    kept; a serve started meanwhile still has it (durable under the data folder) and logs the
    failure. Without any answer the built-in defaults apply, and ``show`` says so."""
    config, data = tmp_path / "up.toml", tmp_path / "updata"
    srv = InProcessServer(tmp_path / "filmprinter", FILM_PRINTER)
    config.write_text(upstream_toml(srv.port))
    try:
        assert cli("printers", "refresh", config=config, data_dir=data).returncode == 0
    finally:
        srv.stop()
    out = cli("printers", "refresh", config=config, data_dir=data)
    assert out.returncode == 1
    assert "no answer" in out.stdout and "is kept" in out.stdout
    assert shown(config, data)["values"]["film_sizes"]["origin"] == "profile"

    scp = print_scp_factory(upstream_toml(srv.port), data_dir=data)
    with PrintSCU(scp.port, called="UP", contexts=(META,)) as scu:
        assert scu.get(PRINTER, PRINTER_INSTANCE).dataset.Manufacturer == "Acme Imaging"
    assert "did not answer" in scp.log_path.read_text()

    fresh_config, fresh = tmp_path / "fresh.toml", tmp_path / "fresh"
    fresh_config.write_text(upstream_toml(free_port()))
    out = cli("printers", "refresh", config=fresh_config, data_dir=fresh)
    assert out.returncode == 1 and "built-in defaults apply" in out.stdout
    view = shown(fresh_config, fresh)
    assert "not asked yet" in view["profile_source"]
    assert view["values"]["film_sizes"]["origin"] == "default"


def test_composed_mode_takes_no_display_formats(tmp_path: Path,
                                                film_printer: InProcessServer) -> None:
    """In composed mode the film printer gets one image in STANDARD\\1,1: its display formats do
    not restrict what modalities may send; in boxes mode they do."""
    for mode, restricted in (("composed", False), ("boxes", True)):
        config, data = tmp_path / f"{mode}.toml", tmp_path / mode
        config.write_text(upstream_toml(film_printer.port, mode))
        assert cli("printers", "refresh", config=config, data_dir=data).returncode == 0
        printer = load_config(config, data_dir=data).printers[0]
        assert bool(printer.display_formats) is restricted
        assert printer.film_sizes == ("8INX10IN", "14INX17IN")


def test_dcmprscp_without_printer_configuration_retrieval(tmp_path: Path) -> None:
    """DCMTK's dcmprscp refuses the Printer Configuration Retrieval context: the answer is kept
    with that noted, and the capabilities stay the built-in defaults."""
    require_tool("dcmprscp")
    with DcmprscpServer(tmp_path / "dcmprscp") as film:
        config, data = tmp_path / "up.toml", tmp_path / "updata"
        config.write_text(upstream_toml(film.port).replace('"FILMPRN"', f'"{film.ae_title}"'))
        out = cli("printers", "refresh", config=config, data_dir=data)
    assert out.returncode == 0, out.stderr
    assert "Printer Configuration Retrieval not supported" in out.stdout
    view = shown(config, data)
    assert "Printer Configuration Retrieval not supported" in view["profile_source"]
    assert view["values"]["film_sizes"]["origin"] == "default"


def test_the_renderer_and_output_use_the_profiles_resolution(tmp_path: Path) -> None:
    """The effective printer is the same for the SCP and the renderer: a film printer offering
    only 30 dpi makes printserver compose the film at 30 dpi (14INX17IN portrait: 510 × 420)
    and send it so; the SCP accepted the film box with the film printer's film size."""
    film_printer = InProcessServer(tmp_path / "filmprinter", '[[printers]]\nae_title = "FILMPRN"\n'
                                   'resolution_dpi = { STANDARD = 30 }\n')
    try:
        root = tmp_path / "up"
        root.mkdir()
        toml = upstream_toml(film_printer.port, "composed")
        (root / "printserver.toml").write_text(toml)
        _config, (asked,) = refresh_downstream(
            load_config(root / "printserver.toml", data_dir=root / "var"))
        assert asked.answered, asked.message
        up = InProcessServer(root, toml)
        try:
            assert up.config.printers[0].resolution_dpi == {"STANDARD": 30.0}
            with up.scu(called="UP") as scu:
                fb = scu.film_box(scu.film_session(), FilmSizeID="14INX17IN")
                assert fb.status == 0, hex(fb.status)
                box = fb.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
                pixels = np.full((16, 16), 2000, np.uint16)
                assert scu.set(IMAGE_BOX, box, image_box_ds(1, pixels)).status == 0
                assert scu.action(FILM_BOX, fb.affected_uid).status == 0
            done = Worker(up.config, up.store, up.spool, "test:up").run_once()
            assert done is not None and done.message.startswith("1 film(s)"), done
        finally:
            up.stop()
        (received,) = film_printer.store.list()
        image = film_printer.spool.load_manifest(received)["films"][0]["image_boxes"][0]["image"]
        assert (image["rows"], image["columns"]) == (510, 420)
    finally:
        film_printer.stop()
