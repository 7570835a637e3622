from pathlib import Path

import pytest

from printserver.config import Config, load_config
from printserver.errors import ConfigError


def test_defaults_need_no_file():
    cfg = load_config()
    assert cfg.dicom.port == 11112
    assert cfg.web.host == "127.0.0.1" and cfg.web.port == 8080
    assert cfg.data_dir == Path("var")
    (printer,) = cfg.printers
    assert printer.ae_title == "PRINTSCP"
    assert printer.default_film_size == "14INX17IN"
    assert printer.resolution_dpi["STANDARD"] == 320
    assert (printer.min_density, printer.max_density) == (20, 300)
    assert printer.output.kind == "pdf"
    assert cfg.printer("PRINTSCP") is printer
    assert cfg.printer("OTHER") is None


def test_file_and_overrides(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('data_dir = "/srv/ps"\n[dicom]\nport = 104\ndefault_printer = "FILM1"\n'
                 '[[printers]]\nae_title = "FILM1"\nmax_density = 320\n'
                 '[[printers]]\nae_title = "PAPER1"\noutput = { kind = "cups", queue = "lp" }\n')
    cfg = load_config(f, dicom_port=11113, data_dir=tmp_path)
    assert cfg.dicom.port == 11113
    assert cfg.data_dir == tmp_path
    assert [p.ae_title for p in cfg.printers] == ["FILM1", "PAPER1"]
    assert cfg.printers[0].max_density == 320
    assert cfg.printers[1].output.queue == "lp"
    assert cfg.printer("UNKNOWN").ae_title == "FILM1"


@pytest.mark.parametrize("text,match", [
    ("[dicom]\nprot = 1\n", "dicom.prot"),
    ("[dicom]\nport = 'x'\n", "dicom.port"),
    ("[[printers]]\nae_title = 'A'\nmin_density = 400\n", "min_density"),
    ("[[printers]]\nae_title = 'A'\n[[printers]]\nae_title = 'A'\n", "unique"),
    ("data_dir = [\n", "c.toml"),
])
def test_bad_config_is_refused_with_the_key(tmp_path, text, match):
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(f)


def test_config_constructs_without_arguments():
    assert Config().printers[0].name == "printserver"
