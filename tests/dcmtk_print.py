"""Drive DCMTK's print tools from tests: ``dcmpsprt`` renders a print job, ``dcmprscu`` spools it.

DCMTK prints in two steps. ``dcmpsprt`` reads DICOM images, renders each one into a Hardcopy
Grayscale image (the pixel matrix the printer receives) and writes those plus a Stored Print object
(film session, film box and image box attributes) into the database folder named by a
``dcmpstat.cfg``-style configuration. ``dcmprscu`` then reads the Stored Print and plays it to the
printer named in the same configuration: N-GET Printer, [N-CREATE Presentation LUT], N-CREATE Film
Session, N-CREATE Film Box, N-SET per image box, [N-SET Annotation Box], N-ACTION, N-DELETEs.

``dcmprscu`` exits 0 even when the printer refused everything, so this module reads its debug log
(``--dump``: every DIMSE message with its status) into a :class:`SpoolResult`, and tests assert on
that. :class:`DcmprscpServer` runs DCMTK's own Print SCP (``dcmprscp``), which stores what it
receives as Hardcopy Grayscale images: the reference the harness is validated against.

Everything here runs on 127.0.0.1 with free ports, with a timeout on every subprocess.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

log = logging.getLogger(__name__)

#: Secondary Capture Image Storage: the class of the test images handed to dcmpsprt.
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
#: Retired Stored Print Storage and Hardcopy Grayscale Image Storage (what dcmpsprt writes).
STORED_PRINT = "1.2.840.10008.5.1.1.27"
HARDCOPY_GRAYSCALE = "1.2.840.10008.5.1.1.29"

TOOL_TIMEOUT = 60.0

#: DCMTK disables Nagle's algorithm when TCP_NODELAY=1 is in its environment. Without it every
#: DIMSE round trip of dcmprscu waits ~40 ms for a delayed ACK.
DCMTK_ENV = {"TCP_NODELAY": "1"}


def dcmtk_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a DCMTK tool: ours plus :data:`DCMTK_ENV` plus ``extra``."""
    env = dict(os.environ)
    env.update(DCMTK_ENV)
    env.update(extra or {})
    return env


# --------------------------------------------------------------------------------------------
# Test images


def pattern(rows: int, columns: int, bits: int, seed: int = 0) -> np.ndarray:
    """A recognisable test pattern of ``bits``-bit values: a diagonal ramp over the full range with
    a marker block whose value depends on ``seed`` (so that swapped image boxes are detected)
    and a full-scale/zero corner pair (so that inversion and clipping are detected)."""
    top = (1 << bits) - 1
    r = np.arange(rows)[:, None]
    c = np.arange(columns)[None, :]
    img = ((r + c) * top) // max(rows + columns - 2, 1)
    img = img.astype(np.int64)
    h, w = max(rows // 6, 1), max(columns // 6, 1)
    r0, c0 = rows // 3, columns // 3
    img[r0:r0 + h, c0:c0 + w] = (seed * 997 + top // 3) % (top + 1)
    img[0:2, 0:2] = top
    img[-2:, -2:] = 0
    return img.astype(np.uint16 if bits > 8 else np.uint8)


def write_image(path: Path, pixels: np.ndarray, bits: int,
                photometric: str = "MONOCHROME2", patient: str = "Print^Test") -> Path:
    """Write ``pixels`` as a Secondary Capture image (8 bits in 8, else ``bits`` in 16)."""
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = patient
    ds.PatientID = "PRINTTEST"
    ds.Modality = "OT"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    dtype = np.uint8 if bits <= 8 else np.dtype("<u2")
    ds.PixelData = pixels.astype(dtype).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def write_lut_file(path: Path, data: np.ndarray, bits: int, explanation: str = "test LUT") -> Path:
    """Write a print Presentation LUT table the way dcmpsprt's ``--plut`` loads it: a DICOM file
    whose Presentation LUT Sequence holds LUT Descriptor (entries\\0\\bits), Explanation, Data."""
    item = Dataset()
    item.add_new(0x00283002, "US", [len(data) % 65536, 0, bits])  # LUT Descriptor
    item.LUTExplanation = explanation
    item.add_new(0x00283006, "US", [int(v) for v in data])  # LUT Data
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.1.23"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PresentationLUTSequence = Sequence([item])
    ds.save_as(path, enforce_file_format=True)
    return path


# --------------------------------------------------------------------------------------------
# Configuration


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PrinterProfile:
    """One printer section of a dcmpstat configuration file.

    As a ``PRINTER`` (dcmprscu's target) it says where to connect and what the printer is assumed
    to support (12-bit, Presentation LUT, annotation, Implicit VR only...). As a ``LOCALPRINTER``
    (dcmprscp's own settings) it is the emulated printer's allowed values, first value default.
    """

    name: str = "PRINTER"
    ae_title: str = "PRINTSCP"
    host: str = "127.0.0.1"
    port: int = 11112
    type: str = "PRINTER"
    max_pdu: int = 65536
    implicit_only: bool = False
    supports_12bit: bool = True
    supports_plut: bool = True
    plut_in_film_session: bool = False
    plut_match_required: bool = False
    plut_prefer_scp_rendering: bool = True
    supports_image_size: bool = False
    supports_decimate_crop: bool = False
    supports_trim: bool = False
    #: (position, Annotation Display Format ID) when the printer supports annotation boxes
    annotation: tuple[int, str] | None = None
    display_formats: tuple[str, ...] = ("1,1", "1,2", "2,1", "2,2", "3,3", "4,4", "4,5", "5,4")
    film_sizes: tuple[str, ...] = ("14INX17IN", "8INX10IN", "10INX12IN", "11INX14IN", "14INX14IN",
                                   "A4")
    medium_types: tuple[str, ...] = ("PAPER", "CLEAR FILM", "BLUE FILM")
    film_destinations: tuple[str, ...] = ("MAGAZINE", "PROCESSOR")
    magnification_types: tuple[str, ...] = ("REPLICATE", "BILINEAR", "CUBIC", "NONE")
    smoothing_types: tuple[str, ...] = ()
    border_densities: tuple[str, ...] = ("BLACK", "WHITE", "150")
    empty_image_densities: tuple[str, ...] = ("BLACK", "WHITE", "20")
    max_densities: tuple[str, ...] = ("300",)
    min_densities: tuple[str, ...] = ("20",)
    resolution_ids: tuple[str, ...] = ()
    #: Configuration_1, Configuration_2 ...: the Configuration Information values (ST) accepted
    configurations: tuple[str, ...] = ()

    def section(self) -> str:
        """The ``[NAME]`` section text."""
        def flag(value: bool) -> str:
            return "true" if value else "false"

        lines = [
            f"[{self.name}]",
            f"Type = {self.type}",
            f"Aetitle = {self.ae_title}",
            f"Description = {self.name} on {self.host}:{self.port}",
            f"Hostname = {'localhost' if self.type == 'LOCALPRINTER' else self.host}",
            f"Port = {self.port}",
            f"MaxPDU = {self.max_pdu}",
            "Timeout = 20",
            f"ImplicitOnly = {flag(self.implicit_only)}",
            "DisableNewVRs = false",
            f"Supports12Bit = {flag(self.supports_12bit)}",
            f"SupportsPresentationLUT = {flag(self.supports_plut)}",
            f"PresentationLUTinFilmSession = {flag(self.plut_in_film_session)}",
            f"PresentationLUTMatchRequired = {flag(self.plut_match_required)}",
            f"PresentationLUTPreferSCPRendering = {flag(self.plut_prefer_scp_rendering)}",
            f"SupportsImageSize = {flag(self.supports_image_size)}",
            f"SupportsDecimateCrop = {flag(self.supports_decimate_crop)}",
            f"SupportsTrim = {flag(self.supports_trim)}",
            "OmitSOPClassUIDFromCreateResponse = false",
            "DisplayFormat = " + "\\".join(self.display_formats),
        ]
        for key, values in (
            ("FilmSizeID", self.film_sizes), ("MediumType", self.medium_types),
            ("FilmDestination", self.film_destinations),
            ("MagnificationType", self.magnification_types),
            ("SmoothingType", self.smoothing_types), ("BorderDensity", self.border_densities),
            ("EmptyImageDensity", self.empty_image_densities),
            ("MaxDensity", self.max_densities), ("MinDensity", self.min_densities),
            ("ResolutionID", self.resolution_ids),
        ):
            if values:
                lines.append(f"{key} = " + "\\".join(values))
        if self.annotation is not None:
            lines.append(f"Annotation = {self.annotation[0]}\\{self.annotation[1]}")
        lines += [f"Configuration_{n} = {value}"
                  for n, value in enumerate(self.configurations, start=1)]
        return "\n".join(lines) + "\n"


@dataclass
class DcmtkConfig:
    """A dcmpstat configuration file and the folders it names, all under ``root``."""

    root: Path
    path: Path
    printers: list[PrinterProfile]
    luts: dict[str, str] = field(default_factory=dict)

    @property
    def database(self) -> Path:
        return self.root / "database"

    @property
    def lut_folder(self) -> Path:
        return self.root / "lut"


def write_config(root: Path, printers: list[PrinterProfile], calling_ae: str = "DCMTKSCU",
                 luts: dict[str, Path] | None = None) -> DcmtkConfig:
    """Write ``root/dcmpstat.cfg`` naming ``printers`` (the first one is the default) and the
    print Presentation LUTs ``luts`` (identifier → LUT file, copied into the LUT folder)."""
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("database", "spool", "lut", "log"):
        (root / sub).mkdir(exist_ok=True)
    lut_names: dict[str, str] = {}
    for ident, src in (luts or {}).items():
        dst = root / "lut" / Path(src).name
        if Path(src).resolve() != dst.resolve():
            shutil.copyfile(src, dst)
        lut_names[ident] = dst.name
    text = [
        "[[GENERAL]]",
        "[APPLICATION]",
        f"LogDirectory = {root / 'log'}",
        "[PRINT]",
        "Spooler = dcmprscu",
        "Server = dcmprscp",
        f"Directory = {root / 'spool'}",
        "DetailedLog = false",
        "BinaryLog = false",
        "DeletePrintJobs = false",
        "AlwaysDeleteTerminateJobs = true",
        "[DATABASE]",
        f"Directory = {root / 'database'}",
        "[LUT]",
        f"Directory = {root / 'lut'}",
        "[NETWORK]",
        f"aetitle = {calling_ae}",
        "[[COMMUNICATION]]",
    ]
    body = "\n".join(text) + "\n" + "".join(p.section() for p in printers)
    if lut_names:
        body += "[[LUT]]\n" + "".join(
            f"[{ident}]\ndescription = {ident}\nfilename = {name}\n"
            for ident, name in lut_names.items())
    path = root / "dcmpstat.cfg"
    path.write_text(body)
    return DcmtkConfig(root=root, path=path, printers=list(printers), luts=lut_names)


# --------------------------------------------------------------------------------------------
# dcmpsprt: render a print job into the database


@dataclass
class FilmOptions:
    """What dcmpsprt writes into the Stored Print (film box / image box level)."""

    columns: int = 1
    rows: int = 1
    orientation: str | None = None  # "PORTRAIT" / "LANDSCAPE"
    film_size: str | None = None
    magnification: str | None = None
    smoothing: str | None = None
    border_density: str | None = None
    empty_image_density: str | None = None
    min_density: int | None = None
    max_density: int | None = None
    trim: bool | None = None
    configuration_information: str | None = None
    resolution: str | None = None
    plut_shape: str | None = None  # "IDENTITY" or "LIN OD"
    plut_table: str | None = None  # LUT identifier from the config's [[LUT]] section
    illumination: int | None = None
    reflection: int | None = None
    annotation: str | None = None  # text; printed without date, printer name or lighting
    polarity: str | None = None  # image box Polarity

    def arguments(self) -> list[str]:
        """dcmpsprt command-line options."""
        args = ["--layout", str(self.columns), str(self.rows)]
        if self.orientation == "LANDSCAPE":
            args.append("--landscape")
        elif self.orientation == "PORTRAIT":
            args.append("--portrait")
        if self.trim is not None:
            args.append("--trim" if self.trim else "--no-trim")
        for option, value in (
            ("--filmsize", self.film_size), ("--magnification", self.magnification),
            ("--smoothing", self.smoothing), ("--border", self.border_density),
            ("--empty-image", self.empty_image_density), ("--min-density", self.min_density),
            ("--max-density", self.max_density),
            ("--configinfo", self.configuration_information),
            ("--resolution", self.resolution), ("--plut", self.plut_table),
            ("--illumination", self.illumination), ("--reflection", self.reflection),
            ("--img-polarity", self.polarity),
        ):
            if value is not None:
                args += [option, str(value)]
        if self.plut_shape == "IDENTITY":
            args.append("--identity")
        elif self.plut_shape == "LIN OD":
            args.append("--lin-od")
        elif self.plut_shape is not None:
            raise ValueError(f"dcmpsprt cannot create a {self.plut_shape!r} Presentation LUT")
        if self.annotation is not None:
            args += ["--annotation", self.annotation, "--print-no-date", "--print-no-name",
                     "--print-no-lighting"]
        return args


@dataclass
class StoredPrint:
    """A print job as dcmpsprt left it in the database.

    ``images`` holds the Hardcopy Grayscale data sets in image box order (position 1, 2, ...):
    these are the pixel matrices dcmprscu transmits.
    """

    path: Path
    dataset: Dataset
    images: list[Dataset]
    positions: list[int]
    log: str

    @property
    def film_box(self) -> Dataset:
        return self.dataset.FilmBoxContentSequence[0]

    @property
    def presentation_luts(self) -> list[Dataset]:
        return list(self.dataset.get("PresentationLUTContentSequence", []))


def _run(argv: list[str], timeout: float, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    log.debug("running %s", " ".join(argv))
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env, check=False)


def _index_database(folder: Path) -> dict[str, Path]:
    """SOP Instance UID → file for every DICOM file in a dcmpstat database folder."""
    found = {}
    for path in folder.glob("*.dcm"):
        ds = dcmread(path, stop_before_pixels=True)
        found[str(ds.SOPInstanceUID)] = path
    return found


def render(config: DcmtkConfig, images: list[Path], film: FilmOptions,
           printer: str | None = None, timeout: float = TOOL_TIMEOUT) -> StoredPrint:
    """Run ``dcmpsprt --nospool`` on ``images`` and return the Stored Print it wrote."""
    before = set(config.database.glob("SP_*.dcm"))
    argv = ["dcmpsprt", "-v", "--config", str(config.path), "--nospool"]
    if printer:
        argv += ["--printer", printer]
    argv += film.arguments() + [str(p) for p in images]
    proc = _run(argv, timeout, cwd=config.root, env=dcmtk_env())
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or re.search(r"^[EF]: ", output, re.M):
        raise RuntimeError(f"dcmpsprt failed (exit {proc.returncode}):\n{output}")
    created = sorted(set(config.database.glob("SP_*.dcm")) - before)
    if len(created) != 1:
        raise RuntimeError(f"dcmpsprt wrote {len(created)} stored prints:\n{output}")
    sp = dcmread(created[0])
    index = _index_database(config.database)
    boxes = sorted(sp.ImageBoxContentSequence, key=lambda b: int(b.ImageBoxPosition))
    hardcopies = [dcmread(index[str(b.ReferencedImageSequence[0].ReferencedSOPInstanceUID)])
                  for b in boxes]
    return StoredPrint(path=created[0], dataset=sp, images=hardcopies,
                       positions=[int(b.ImageBoxPosition) for b in boxes], log=output)


# --------------------------------------------------------------------------------------------
# dcmprscu: spool it to a printer and read the log


@dataclass
class DimseMessage:
    """One DIMSE message from dcmprscu's ``--dump`` log."""

    direction: str  # "OUTGOING" (request from dcmprscu) or "INCOMING" (response or event)
    type: str  # "N-CREATE RQ", "N-SET RSP", ...
    sop_class: str  # name or UID as DCMTK printed it ("BasicFilmBoxSOPClass"); "" when none
    status: int | None  # DIMSE status of a response
    fields: dict[str, str]
    dataset: str  # the dcmdump-style lines of the data set, "" when none
    #: transfer syntax of the data set as DCMTK names it ("Little Endian Implicit"); for an
    #: INCOMING message, the one it arrived in (for OUTGOING, DCMTK prints its in-memory one)
    transfer_syntax: str = ""

    @property
    def is_response(self) -> bool:
        return self.type.endswith("RSP")

    def value(self, keyword: str) -> str | None:
        """The value of ``keyword`` in the dumped data set: the text between [] or after the VR,
        e.g. ``value("FilmSizeID") == "14INX17IN"``, ``value("MaxDensity") == "300"``."""
        for line in self.dataset.splitlines():
            m = re.match(r"\s*\([0-9a-f]{4},[0-9a-f]{4}\) \w\w (.*?)\s+#\s*\d+,\s*\d+\s+(\S+)$",
                         line)
            if m and m.group(2) == keyword:
                text = m.group(1)
                if text.startswith("[") and text.endswith("]"):
                    return text[1:-1]
                if text.startswith("(no value"):
                    return ""
                return text
        return None


_DUMP_BLOCK = re.compile(
    r"^D: =+ (OUTGOING|INCOMING) DIMSE MESSAGE =+\n(.*?)^D: =+ END DIMSE MESSAGE =+", re.M | re.S)


def parse_dump(text: str) -> list[DimseMessage]:
    """Every DIMSE message dumped in a dcmprscu log, in order."""
    messages = []
    for m in _DUMP_BLOCK.finditer(text):
        direction, body = m.group(1), m.group(2)
        lines = [ln[3:] if ln.startswith("D: ") else ln for ln in body.splitlines()]
        fields: dict[str, str] = {}
        dataset_lines: list[str] = []
        in_dataset = False
        syntax = ""
        for line in lines:
            if line.startswith("-----"):
                in_dataset = True
                continue
            if in_dataset:
                if line.startswith("# Used TransferSyntax:"):
                    syntax = line.split(":", 1)[1].strip()
                elif not line.startswith("#"):
                    dataset_lines.append(line)
                continue
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        status = None
        if "DIMSE Status" in fields:
            status = int(fields["DIMSE Status"].split(":")[0], 16)
        sop_class = (fields.get("Affected SOP Class UID") or fields.get("Requested SOP Class UID")
                     or "")
        if sop_class == "none":
            sop_class = ""
        messages.append(DimseMessage(direction=direction, type=fields.get("Message Type", ""),
                                     sop_class=sop_class, status=status, fields=fields,
                                     dataset="\n".join(dataset_lines), transfer_syntax=syntax))
    return messages


@dataclass
class SpoolResult:
    """What dcmprscu did, read from its log (its exit status means nothing)."""

    argv: list[str]
    returncode: int
    log: str
    messages: list[DimseMessage]
    errors: list[str]  # "E:" and "F:" lines
    warnings: list[str]  # "W:" lines

    @property
    def requests(self) -> list[DimseMessage]:
        return [m for m in self.messages if m.direction == "OUTGOING" and not m.is_response]

    @property
    def responses(self) -> list[DimseMessage]:
        return [m for m in self.messages if m.direction == "INCOMING" and m.is_response]

    def exchanges(self) -> list[tuple[DimseMessage, DimseMessage | None]]:
        """Each request with the response that followed it."""
        pairs: list[tuple[DimseMessage, DimseMessage | None]] = []
        by_id = {m.fields.get("Message ID Being Responded To"): m for m in self.responses}
        for rq in self.requests:
            pairs.append((rq, by_id.get(rq.fields.get("Message ID"))))
        return pairs

    def statuses(self) -> list[tuple[str, int | None]]:
        """(request type and SOP class, response status or None) for every request."""
        return [(f"{rq.type} {rq.sop_class}", rsp.status if rsp else None)
                for rq, rsp in self.exchanges()]

    def response_to(self, type_: str, sop_class: str, nth: int = 0) -> DimseMessage:
        """The response to the ``nth`` request of ``type_`` ("N-CREATE") on ``sop_class``."""
        matches = [rsp for rq, rsp in self.exchanges()
                   if rq.type == f"{type_} RQ" and rq.sop_class == sop_class]
        if len(matches) <= nth or matches[nth] is None:
            raise AssertionError(f"no response to {type_} {sop_class} #{nth}:\n{self.summary()}")
        return matches[nth]

    def request(self, type_: str, sop_class: str, nth: int = 0) -> DimseMessage:
        matches = [rq for rq in self.requests
                   if rq.type == f"{type_} RQ" and rq.sop_class == sop_class]
        if len(matches) <= nth:
            raise AssertionError(f"no {type_} {sop_class} request #{nth}:\n{self.summary()}")
        return matches[nth]

    def summary(self) -> str:
        lines = [f"{what}: {'none' if st is None else f'{st:04X}'}"
                 for what, st in self.statuses()]
        lines += self.errors + self.warnings
        return "\n".join(lines)

    def problems(self, allowed: dict[str, set[int]] | None = None,
                 allowed_warnings: tuple[str, ...] = ()) -> list[str]:
        """Everything that makes this spool not a clean success: unanswered requests, responses
        other than 0000 (or a status in ``allowed[request]``, keyed like :meth:`statuses`),
        "E:"/"F:" log lines, and "W:" lines not matching one of ``allowed_warnings``."""
        allowed = allowed or {}
        found = []
        if not self.requests:
            found.append("no DIMSE request was sent")
        for what, status in self.statuses():
            if status is None:
                found.append(f"{what}: no response")
            elif status != 0 and status not in allowed.get(what, set()):
                found.append(f"{what}: status {status:04X}")
        found += self.errors
        found += [w for w in self.warnings
                  if not any(re.search(pat, w) for pat in allowed_warnings)]
        if not any(rq.type == "N-DELETE RQ" for rq in self.requests):
            found.append("dcmprscu did not reach N-DELETE")
        return found

    def assert_ok(self, allowed: dict[str, set[int]] | None = None,
                  allowed_warnings: tuple[str, ...] = ()) -> None:
        problems = self.problems(allowed, allowed_warnings)
        if problems:
            raise AssertionError("dcmprscu did not print cleanly:\n  " + "\n  ".join(problems)
                                 + "\n--- exchanges ---\n" + self.summary()
                                 + "\n--- log tail ---\n" + self.log[-4000:])

    def negotiated_transfer_syntaxes(self) -> set[str]:
        """Transfer syntaxes the printer's response data sets arrived in."""
        return {m.transfer_syntax for m in self.messages
                if m.direction == "INCOMING" and m.transfer_syntax}

    def sent_images(self) -> list[DimseMessage]:
        """The Basic Grayscale Image Box N-SET requests, in the order sent."""
        return [rq for rq in self.requests
                if rq.type == "N-SET RQ" and rq.sop_class == "BasicGrayscaleImageBoxSOPClass"]


#: Lines dcmprscu always logs at warning level that are not problems.
BENIGN_WARNINGS = (r"^W: \$dcmtk: dcmprscu", r"^W: \d{4}-\d\d-\d\d", r"^W: started$")


def spool(config: DcmtkConfig, stored: StoredPrint | Path, printer: str | None = None,
          session_print: bool = False, monochrome1: bool = False, copies: int | None = None,
          medium_type: str | None = None, destination: str | None = None,
          label: str | None = None, priority: str | None = None, owner: str | None = None,
          timeout: float = TOOL_TIMEOUT, env: dict[str, str] | None = None,
          debug: bool = True) -> SpoolResult:
    """Run ``dcmprscu`` on a stored print and parse its log."""
    path = stored.path if isinstance(stored, StoredPrint) else stored
    argv = ["dcmprscu", "--config", str(config.path)]
    argv += ["--debug", "--dump"] if debug else ["--verbose"]
    if printer:
        argv += ["--printer", printer]
    if session_print:
        argv.append("--session-print")
    if monochrome1:
        argv.append("--monochrome1")
    for option, value in (("--copies", copies), ("--medium-type", medium_type),
                          ("--destination", destination), ("--label", label),
                          ("--priority", priority), ("--owner", owner)):
        if value is not None:
            argv += [option, str(value)]
    argv.append(str(path))
    proc = _run(argv, timeout, cwd=config.root, env=dcmtk_env(env))
    text = proc.stdout + proc.stderr
    lines = text.splitlines()
    return SpoolResult(
        argv=argv, returncode=proc.returncode, log=text, messages=parse_dump(text),
        errors=[ln for ln in lines if ln.startswith(("E: ", "F: "))],
        warnings=[ln for ln in lines if ln.startswith("W: ")
                  and not any(re.search(p, ln) for p in BENIGN_WARNINGS)])


# --------------------------------------------------------------------------------------------
# What dcmprscu transmits


def expected_sent_pixels(hardcopy: Dataset, *, transmit_12bit: bool = True,
                         monochrome1: bool = False) -> np.ndarray:
    """The pixels dcmprscu puts into the Basic Grayscale Image Sequence for ``hardcopy``.

    dcmprscu renders the 12-bit Hardcopy Grayscale image through DCMTK's display pipeline with no
    VOI transformation (and no Presentation LUT when the printer applies it). Measured against
    what dcmprscp receives, for every value 0..4095 (tests/test_dcmtk_interop.py keeps checking):

    * 12 bits, MONOCHROME2: the stored values unchanged;
    * 8 bits (printer without 12-bit support), MONOCHROME2: ``v >> 4``;
    * 12 bits, ``--monochrome1``: ``round(4095 - v * 4094 / 4095)`` (DCMTK keeps 0 out of the
      inverted range).

    8-bit MONOCHROME1 is not modelled (DCMTK's rounding there has no simple closed form).
    """
    if int(hardcopy.BitsStored) != 12:
        raise ValueError("dcmpsprt writes 12-bit Hardcopy Grayscale images")
    v = hardcopy.pixel_array.astype(np.int64)
    if transmit_12bit and not monochrome1:
        return v.astype(np.uint16)
    if not transmit_12bit and not monochrome1:
        return (v >> 4).astype(np.uint8)
    if transmit_12bit and monochrome1:
        return np.floor(4095.0 - v * 4094.0 / 4095.0 + 0.5).astype(np.uint16)
    raise ValueError("8-bit MONOCHROME1 transmission is not modelled")


# --------------------------------------------------------------------------------------------
# DCMTK's own Print SCP


def wait_for_port(host: str, port: int, timeout: float = 15.0,
                  proc: subprocess.Popen | None = None) -> None:
    """Wait until something accepts TCP connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout} s")


class DcmprscpServer:
    """DCMTK's ``dcmprscp`` on a free 127.0.0.1 port with its own configuration and database.

    Use as a context manager. ``profile`` gives the emulated printer's capabilities (its
    ``type`` is forced to LOCALPRINTER, its port to the chosen one). The received images are
    in :attr:`database` as Hardcopy Grayscale images; :meth:`received` reads them back.
    """

    def __init__(self, root: Path, profile: PrinterProfile | None = None,
                 port: int | None = None, dump: bool = True) -> None:
        self.root = root
        #: log every DIMSE message in full (``--debug --dump``, what the tests read); a
        #: benchmark runs it at its default verbosity, as printserver runs at its own
        self.dump = dump
        self.port = port or free_port()
        self.profile = dataclasses.replace(profile or PrinterProfile(), name="LOCALSCP",
                                           type="LOCALPRINTER", port=self.port)
        self.host = "127.0.0.1"
        self.config = write_config(root, [self.profile], calling_ae="DCMPRSCP")
        self.log_path = root / "dcmprscp.log"
        self.proc: subprocess.Popen | None = None

    @property
    def ae_title(self) -> str:
        return self.profile.ae_title

    @property
    def database(self) -> Path:
        return self.config.database

    def start(self) -> DcmprscpServer:
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            ["dcmprscp", "--config", str(self.config.path), "--printer", "LOCALSCP",
             *(["--debug", "--dump"] if self.dump else [])],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.root,
            env=dcmtk_env())
        try:
            wait_for_port(self.host, self.port, proc=self.proc)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DcmprscpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stored_prints(self) -> list[Dataset]:
        """The Stored Print objects dcmprscp wrote, one per printed film box, oldest first."""
        found = [dcmread(p) for p in self.database.glob("SP_*.dcm")]
        return sorted(found, key=lambda d: (str(d.InstanceCreationDate),
                                            str(d.InstanceCreationTime), str(d.SOPInstanceUID)))

    def received(self, stored_print: Dataset) -> dict[int, Dataset]:
        """Image box position → the Hardcopy Grayscale image dcmprscp stored for it."""
        index = _index_database(self.database)
        out = {}
        for box in stored_print.ImageBoxContentSequence:
            uid = str(box.ReferencedImageSequence[0].ReferencedSOPInstanceUID)
            out[int(box.ImageBoxPosition)] = dcmread(index[uid])
        return out
