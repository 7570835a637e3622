"""DCMTK's print client configured for each printer of DCMTK's own sample ``dcmpstat.cfg``, as
Debian's dcmtk package installs it, printing to printserver with its default configuration
(issue 12).

For every printer entry of ``/etc/dcmtk/dcmpstat.cfg`` (IHEFULL, IHERESTRICTED, IHEFULL_TLS,
IHERESTRICT_TLS): the entry is copied unchanged into a dcmprscu configuration, except that it
points at printserver (Type PRINTER, Hostname, Port, Aetitle); the TLS entries keep their TLS
settings and talk TLS with a printserver that requires a client certificate. ``dcmpsprt``
renders one film with the first (default) value of each of the entry's lists, as a modality set
up for that printer sends them (film size, magnification, smoothing, border and empty image
density, min / max density, resolution, trim, medium type, film destination), and ``dcmprscu``
prints it:

* with printserver's defaults every film prints: printer-defined values it does not have get its
  default with warning 0116 (Max Density 320 is clamped to 300 with B605), and the job holds
  exactly the pixels dcmprscu sent;
* with ``strict_attributes = true`` the same film is refused with 0106 naming the attribute, and
  nothing is queued;
* a printserver printer with the entry as its emulation profile (``profile = "dcmtk:…#NAME"``)
  answers every request with Success.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import require_tool
from dcmtk_print import (DcmtkConfig, FilmOptions, SpoolResult, expected_sent_pixels, pattern,
                         render, spool, write_config, write_image)
from printserver.profiles.dcmtk import DcmtkEntry, printer_entries
from scp_fixtures import InProcessServer

pytestmark = pytest.mark.dcmtk

SAMPLE = Path("/etc/dcmtk/dcmpstat.cfg")
#: the sample's printers, read when the tests are collected
PRINTERS = printer_entries(SAMPLE) if SAMPLE.is_file() else {}
#: keys that say where the printer is: rewritten to point at printserver
WHERE = {"TYPE", "HOSTNAME", "PORT", "AETITLE"}
SESSION, FILM_BOX = "N-CREATE RQ BasicFilmSessionSOPClass", "N-CREATE RQ BasicFilmBoxSOPClass"


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    for tool in ("dcmpsprt", "dcmprscu", "openssl"):
        require_tool(tool)
    if sorted(PRINTERS) != ["IHEFULL", "IHEFULL_TLS", "IHERESTRICTED", "IHERESTRICT_TLS"]:
        pytest.fail(f"{SAMPLE}: expected DCMTK's four sample printers, found {sorted(PRINTERS)}")


# -- TLS material -------------------------------------------------------------------------------

@dataclass
class TlsFiles:
    """A test CA, printserver's certificate and dcmprscu's (named as the sample entries name
    them: sitecert.pem / sitekey.pem in the TLS folder, the CA hashed in its own folder)."""

    folder: Path
    ca_folder: Path
    ca: Path
    server_certificate: Path
    server_key: Path

    def server_toml(self) -> str:
        return (f'[dicom.tls]\ncertificate = "{self.server_certificate}"\n'
                f'private_key = "{self.server_key}"\nca_certificates = "{self.ca}"\n'
                "require_client_certificate = true\n")


def _openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def make_tls(root: Path) -> TlsFiles:
    folder, ca_folder = root / "tls", root / "cacerts"
    folder.mkdir(parents=True)
    ca_folder.mkdir()
    ca, ca_key = root / "ca.pem", root / "ca.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             "/CN=printserver test CA", "-keyout", str(ca_key), "-out", str(ca))
    extensions = root / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")

    def signed(name: str, certificate: Path, key: Path) -> None:
        request = root / f"{name}.csr"
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout",
                 str(key), "-out", str(request))
        _openssl("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key),
                 "-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out",
                 str(certificate))

    server_certificate, server_key = root / "server.pem", root / "server.key"
    signed("printserver", server_certificate, server_key)
    signed("dcmprscu", folder / "sitecert.pem", folder / "sitekey.pem")
    digest = _openssl("x509", "-hash", "-noout", "-in", str(ca)).strip()
    (ca_folder / f"{digest}.0").write_bytes(ca.read_bytes())
    for seed in ("iheprt1.rnd", "iheprt2.rnd"):  # the RandomSeed files the entries name
        (folder / seed).write_bytes(os.urandom(1024))
    return TlsFiles(folder, ca_folder, ca, server_certificate, server_key)


# -- a dcmprscu configuration holding one sample entry --------------------------------------------

def sample_config(root: Path, entry: DcmtkEntry, port: int, ae_title: str,
                  tls: TlsFiles | None) -> DcmtkConfig:
    """A dcmpstat configuration whose one printer is ``entry``, unchanged but for where it is."""
    config = write_config(root, [])
    text = config.path.read_text()
    if tls is not None:
        text = text.replace("[[COMMUNICATION]]\n",
                            f"[TLS]\nTLSDirectory = {tls.folder}\n"
                            f"CACertificateDirectory = {tls.ca_folder}\nUsePEMFormat = true\n"
                            "[[COMMUNICATION]]\n")
    lines = [f"[{entry.name}]", "Type = PRINTER", f"Aetitle = {ae_title}",
             "Hostname = 127.0.0.1", f"Port = {port}"]
    lines += [f"{key} = {value}".replace("\n", "\n  ") for key, value in entry.values.items()
              if key not in WHERE]
    config.path.write_text(text + "\n".join(lines) + "\n")
    return config


def first(entry: DcmtkEntry, keyword: str) -> str | None:
    """The printer's default for ``keyword``: the first value of its list (DCMTK's rule)."""
    values = entry.list(keyword)
    return values[0] if values else None


def default_film(entry: DcmtkEntry) -> tuple[FilmOptions, dict[str, Any]]:
    """dcmpsprt film options and dcmprscu session options with the entry's defaults."""
    film = FilmOptions(film_size=first(entry, "FilmSizeID"),
                       magnification=first(entry, "MagnificationType"),
                       smoothing=first(entry, "SmoothingType"),
                       border_density=first(entry, "BorderDensity"),
                       empty_image_density=first(entry, "EmptyImageDensity"),
                       max_density=first(entry, "MaxDensity"),
                       min_density=first(entry, "MinDensity"),
                       resolution=first(entry, "ResolutionID"),
                       trim=True if entry.flag("SupportsTrim", False) else None)
    return film, {"medium_type": first(entry, "MediumType"),
                  "destination": first(entry, "FilmDestination")}


@dataclass
class SamplePrint:
    entry: DcmtkEntry
    server: InProcessServer
    result: SpoolResult
    stored: Any


def print_sample(tmp_path: Path, name: str, toml: str = "") -> SamplePrint:
    entry = PRINTERS[name]
    tls = make_tls(tmp_path / "pki") if entry.flag("UseTLS", False) else None
    server = InProcessServer(tmp_path / "printserver",
                             "[workers]\ncount = 0\n" + toml + (tls.server_toml() if tls else ""))
    try:
        config = sample_config(tmp_path / "dcmtk", entry, server.port, "PRINTSCP", tls)
        image = write_image(tmp_path / "image.dcm", pattern(64, 48, 12, seed=3), 12)
        film, session = default_film(entry)
        stored = render(config, [image], film, printer=name)
        result = spool(config, stored, printer=name, **session)
    except BaseException:
        server.stop()
        raise
    return SamplePrint(entry, server, result, stored)


@pytest.fixture
def sample_print(tmp_path: Path):
    prints: list[SamplePrint] = []

    def run(name: str, toml: str = "") -> SamplePrint:
        prints.append(print_sample(tmp_path, name, toml))
        return prints[-1]

    yield run
    for p in prints:
        p.server.stop()


@pytest.mark.parametrize("name", list(PRINTERS))
def test_sample_printer_prints_with_the_default_configuration(sample_print: Any,
                                                              name: str) -> None:
    out = sample_print(name)
    out.result.assert_ok(allowed={SESSION: {0x0116}, FILM_BOX: {0x0116, 0xB605}})
    if out.entry.flag("UseTLS", False):
        assert "Transport connection: TLS over TCP/IP" in out.result.log, out.result.log[-2000:]
    (job,) = out.server.store.list()
    manifest = out.server.spool.load_manifest(job)
    session = manifest["film_session"]["attributes"]
    (film,) = manifest["films"]
    attributes = film["attributes"]
    sent = out.result.request("N-CREATE", "BasicFilmBoxSOPClass")
    assert attributes["FilmSizeID"] == sent.value("FilmSizeID") == first(out.entry, "FilmSizeID")
    # printer-defined values printserver's default printer lacks: its defaults, said with 0116
    if first(out.entry, "SmoothingType") == "NONE":
        assert attributes["SmoothingType"] == "MEDIUM"
        assert out.result.response_to("N-CREATE", "BasicFilmBoxSOPClass").fields[
            "DIMSE Status"].startswith(("0xb605", "0x0116"))
    if first(out.entry, "MediumType") == "STOREDPRINT":
        assert (session["MediumType"], session["FilmDestination"]) == ("BLUE FILM", "PROCESSOR")
        assert out.result.response_to("N-CREATE", "BasicFilmSessionSOPClass").status == 0x0116
    assert int(attributes["MaxDensity"]) == 300  # 320 asked, clamped to the printer's range
    (box,) = [b for b in film["image_boxes"] if b["image"] is not None]
    want = expected_sent_pixels(out.stored.images[0])
    got = out.server.spool.load_pixels(job, 1, box["position"], manifest)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("name", list(PRINTERS))
def test_sample_printer_refused_when_strict(sample_print: Any, caplog: Any, name: str) -> None:
    with caplog.at_level(logging.INFO, "printserver.scp.handlers"):
        out = sample_print(name, "[dicom]\nstrict_attributes = true\n")
    refused = [(what, status) for what, status in out.result.statuses() if status not in (0, None)
               and status & 0xF000 not in (0xB000,)]
    assert refused and refused[0][1] == 0x0106, out.result.summary()
    restricted = first(out.entry, "MediumType") == "STOREDPRINT"
    assert refused[0][0] == (SESSION if restricted else FILM_BOX)
    # the Error Comment names the attribute (dcmprscu does not log it; the SCP does)
    attribute = "MediumType" if restricted else "SmoothingType"
    assert any(f"INVALID_ATTRIBUTE_VALUE (0x0106): {attribute}" in r.getMessage()
               for r in caplog.records), caplog.text
    assert out.server.store.list() == []


@pytest.mark.parametrize("name", list(PRINTERS))
def test_sample_printer_emulated_by_its_profile_answers_success(sample_print: Any,
                                                                name: str) -> None:
    """printserver emulating the same entry (``profile = "dcmtk:…#NAME"``) takes every value the
    client sends as its own: every response is 0000, and the film keeps them all."""
    out = sample_print(name, f'[[printers]]\nprofile = "dcmtk:{SAMPLE}#{name}"\n')
    out.result.assert_ok()
    (job,) = out.server.store.list()
    manifest = out.server.spool.load_manifest(job)
    attributes = manifest["films"][0]["attributes"]
    session = manifest["film_session"]["attributes"]
    assert attributes["FilmSizeID"] == first(out.entry, "FilmSizeID")
    assert session["MediumType"] == first(out.entry, "MediumType")
    assert session["FilmDestination"] == first(out.entry, "FilmDestination")
    assert int(attributes["MaxDensity"]) == int(first(out.entry, "MaxDensity") or 0)
    if first(out.entry, "SmoothingType"):
        assert attributes["SmoothingType"] == first(out.entry, "SmoothingType")
