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


@pytest.mark.parametrize("text,message", [
    ("[dicom]\nport = true\n", "dicom.port: expected int, got true"),
    ("[dicom.limits]\nmax_associations = 1.5\n", "dicom.limits.max_associations: expected int, got 1.5"),
    ("[dicom.tls]\nrequire_client_certificate = 1\n",
     "dicom.tls.require_client_certificate: expected bool, got 1"),
    ("[workers]\ncount = true\n", "workers.count: expected int, got true"),
    ("[workers]\npoll_interval = false\n", "workers.poll_interval: expected float, got false"),
    ("data_dir = 5\n", "data_dir: expected a path (str), got 5"),
    ("[[printers]]\nfilm_sizes = ['A4', 2]\n", "printers[0].film_sizes[1]: expected str, got 2"),
    ("[[printers]]\nae_title = 'A'\n[[printers]]\nae_title = 'B'\ncalling_aets = [true]\n",
     "printers[1].calling_aets[0]: expected str, got true"),
    ("[[printers]]\nfilm_sizes = 'A4'\n", 'printers[0].film_sizes: expected a list, got "A4"'),
    ("[[printers]]\nresolution_dpi = { STANDARD = '320' }\n",
     'printers[0].resolution_dpi.STANDARD: expected float, got "320"'),
    ("[[printers]]\nresolution_dpi = { STANDARD = true }\n",
     "printers[0].resolution_dpi.STANDARD: expected float, got true"),
    ("[[printers]]\nannotation_formats = { LABEL = true }\n",
     "printers[0].annotation_formats.LABEL: expected int, got true"),
    ('[[printers]]\nnamed_formats = { "CUSTOM\\\\2" = 3 }\n',
     'printers[0].named_formats."CUSTOM\\\\2": expected str, got 3'),
    ("[[printers]]\nnamed_formats = ['SLIDE']\n", "printers[0].named_formats: expected a table, got a list"),
    ("[[printers]]\noutput = { kind = 'cups', options = { sides = 1 } }\n",
     "printers[0].output.options.sides: expected str, got 1"),
    ("[[printers]]\noutput = { kind = 'pacs', port = '104' }\n",
     'printers[0].output.port: expected int, got "104"'),
    ("printers = { ae_title = 'A' }\n", "printers: expected a list, got a table"),
])
def test_types_are_checked_inside_lists_and_tables(tmp_path, text, message):
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(f)
    assert str(err.value) == message


def test_whole_numbers_are_taken_where_a_float_is_expected(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[workers]\npoll_interval = 1\nretry_delay = 2\n[[printers]]\n"
                 "printable_margin_mm = 3\nresolution_dpi = { STANDARD = 300, HIGH = 600 }\n"
                 "output = { kind = 'dicom', timeout = 5, options = { a = 'b' } }\n")
    cfg = load_config(f)
    assert cfg.workers.poll_interval == 1.0 and type(cfg.workers.poll_interval) is float
    (printer,) = cfg.printers
    assert type(printer.printable_margin_mm) is float and printer.resolution_dpi == {
        "STANDARD": 300, "HIGH": 600}
    assert type(printer.output.timeout) is float and printer.output.options == {"a": "b"}
