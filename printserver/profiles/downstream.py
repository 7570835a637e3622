"""The ``downstream`` profile: a DICOM film printer's own answer, kept durably under ``data_dir``.

A printer whose output is a DICOM film printer (``output.kind = "dicom"``) and whose ``profile``
is ``downstream`` takes its accepted values and defaults from that film printer: ``serve`` asks
it at start, ``printserver printers refresh AE`` on demand
(:meth:`printserver.outputs.dicom_printer.DicomPrinterOutput.ask_downstream`), and the answer is
written to ``data_dir/profiles/<AE>.json`` (stage, fsync, rename, fsync the folder:
:func:`printserver.durable.replace_durably`), so that a restart while the film printer is down
still has it. A film printer that does not answer keeps the previous answer; with none, the
built-in defaults apply.

What is taken (:meth:`DownstreamAnswer.values`):

* from **Printer N-GET** (PS3.4 H.4.6.2, Table H.4-17): Printer Name, Manufacturer, Manufacturer
  Model Name, Device Serial Number, Date / Time of Last Calibration, so that a modality asking
  printserver's Printer SOP instance sees the real printer;
* from **Printer Configuration Retrieval N-GET** (PS3.4 H.4.11, PS3.3 C.13.13), its first item
  for the Basic Grayscale Print Management Meta SOP class: the media and film sizes (Media
  Installed Sequence item 1 is the default, with its Min / Max Density; Other Media Available
  Sequence adds the others), the Printer Resolution IDs with their Printer Pixel Spacing (as dots
  per inch) and the Default Printer Resolution ID, Default / Other Magnification Types, Default /
  Other Smoothing Types, Printing Bit Depth (12-bit support), SOP Classes Supported (Presentation
  LUT support) and, in ``boxes`` mode only, the Image Display Formats (in ``composed`` mode the
  film printer receives one image in ``STANDARD\\1,1`` and any layout is composed here).

Film sizes and magnification types printserver cannot render, and Image Display Formats other
than STANDARD / ROW / COL, are left out with a log line. A film printer that refuses Printer
Configuration Retrieval (DCMTK's ``dcmprscp`` does) gives only the Printer N-GET values; the
log says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from printserver.durable import replace_durably
from printserver.errors import ConfigError
from printserver.profiles.dcmtk import known_film_sizes, known_magnifications, note
from printserver.vocabulary import ImageDisplayFormat, VocabularyError

log = logging.getLogger(__name__)

#: the cache folder under data_dir
FOLDER = "profiles"
#: version of the cache file's form
FORMAT = 1
GRAYSCALE_META = "1.2.840.10008.5.1.1.9"
PRESENTATION_LUT = "1.2.840.10008.5.1.1.23"
#: Printer N-GET attribute → printer key
PRINTER_KEYS = {"PrinterName": "name", "Manufacturer": "manufacturer",
                "ManufacturerModelName": "model", "DeviceSerialNumber": "serial_number",
                "DateOfLastCalibration": "last_calibration_date",
                "TimeOfLastCalibration": "last_calibration_time"}


@dataclass(frozen=True)
class DownstreamAnswer:
    """What a film printer answered, as kept in the cache file.

    Attributes
    ----------
    ae_title : str
        Our printer whose output is that film printer.
    peer : str
        The film printer (``film printer AET at host:port``).
    asked_at : str
        ISO 8601 UTC.
    printer : dict
        The Printer N-GET answer as DICOM JSON (PS3.18 F.2); empty when there was none.
    configuration : dict or None
        The Printer Configuration Retrieval N-GET answer as DICOM JSON; None when the film
        printer did not give one (``problem`` says why).
    problem : str
        What the film printer did not answer.
    """

    ae_title: str
    peer: str
    asked_at: str
    printer: dict[str, Any] = field(default_factory=dict)
    configuration: dict[str, Any] | None = None
    problem: str = ""

    @classmethod
    def from_datasets(cls, ae_title: str, peer: str, printer: Dataset | None,
                      configuration: Dataset | None, problem: str = "") -> DownstreamAnswer:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return cls(ae_title, peer, now, printer.to_json_dict() if printer is not None else {},
                   configuration.to_json_dict() if configuration is not None else None, problem)

    def describe(self) -> str:
        """One sentence for ``printers show``: who answered what, when."""
        text = f"downstream {self.peer}, answered {self.asked_at}"
        return f"{text} ({self.problem})" if self.problem else text

    def values(self, mode: str = "composed", notes: list[str] | None = None) -> dict[str, Any]:
        """The printer keys this answer gives (see the module docstring); ``mode`` is the dicom
        output's mode (display formats are taken in ``boxes`` mode only). What is left out is
        appended to ``notes`` (the refresh reports it once) or, without, logged."""
        where = f"printer {self.ae_title}: {self.peer}"
        values: dict[str, Any] = {}
        if self.printer:
            ds = Dataset.from_json(self.printer)
            for keyword, key in PRINTER_KEYS.items():
                text = str(ds.get(keyword, "") or "").strip()
                if text:
                    values[key] = text
        if self.configuration is not None:
            item = _grayscale_item(Dataset.from_json(self.configuration))
            if item is not None:
                values.update(configuration_values(item, mode.strip().lower(), where, notes))
        return values

    def to_json(self) -> bytes:
        data = {"format": FORMAT, "ae_title": self.ae_title, "peer": self.peer,
                "asked_at": self.asked_at, "problem": self.problem, "printer": self.printer,
                "configuration": self.configuration}
        return json.dumps(data, indent=1).encode()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DownstreamAnswer:
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown format {data.get('format')!r}")
        return cls(str(data["ae_title"]), str(data["peer"]), str(data["asked_at"]),
                   dict(data.get("printer") or {}), data.get("configuration"),
                   str(data.get("problem", "")))


def _grayscale_item(ds: Dataset) -> Dataset | None:
    """The Printer Configuration Sequence item for the grayscale meta (else the first)."""
    items = list(ds.get("PrinterConfigurationSequence") or [])
    for item in items:
        if GRAYSCALE_META in [str(u) for u in _many(item.get("SOPClassesSupported"))]:
            return item
    return items[0] if items else None


def _many(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def _unique(values: list[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for v in values:
        v = str(v).strip().upper()
        if v and v not in seen:
            seen.append(v)
    return tuple(seen)


def _with_default(default: Any, others: Any) -> tuple[str, ...]:
    return _unique([str(v) for v in _many(default) + _many(others)])


def configuration_values(item: Dataset, mode: str, where: str,
                         notes: list[str] | None = None) -> dict[str, Any]:
    """Printer keys from one Printer Configuration Sequence item (PS3.3 C.13.13); what is left
    out goes to ``notes`` (:func:`printserver.profiles.dcmtk.note`)."""
    values: dict[str, Any] = {}
    installed = sorted(item.get("MediaInstalledSequence") or [],
                       key=lambda m: int(m.get("ItemNumber", 0) or 0))
    media = installed + list(item.get("OtherMediaAvailableSequence") or [])
    sizes = known_film_sizes(_unique([str(m.get("FilmSizeID", "")) for m in media]), where,
                             notes)
    if sizes:
        values["film_sizes"], values["default_film_size"] = sizes, sizes[0]
    mediums = _unique([str(m.get("MediumType", "")) for m in media])
    if mediums:
        values["medium_types"], values["default_medium_type"] = mediums, mediums[0]
    if installed:
        first = installed[0]
        if first.get("MaxDensity") is not None:
            values["max_density"] = int(first.MaxDensity)
        if first.get("MinDensity") is not None:
            values["min_density"] = int(first.MinDensity)
    formats = list(item.get("SupportedImageDisplayFormatsSequence") or [])
    dpi: dict[str, float] = {}
    for f in formats:
        rid = str(f.get("PrinterResolutionID", "") or "").strip().upper()
        spacing = _many(f.get("PrinterPixelSpacing"))
        if rid and spacing and rid not in dpi and float(spacing[0]) > 0:
            dpi[rid] = round(25.4 / float(spacing[0]), 2)
    if dpi:
        values["resolution_dpi"] = dpi
        default = str(item.get("DefaultPrinterResolutionID", "") or "").strip().upper()
        values["default_resolution"] = default if default in dpi else next(iter(dpi))
    if mode == "boxes" and formats:
        usable = []
        for text in _unique([str(f.get("ImageDisplayFormat", "")) for f in formats]):
            try:
                ImageDisplayFormat.parse(text)
                usable.append(text)
            except VocabularyError:
                note(notes, where, f"Image Display Format {text} left out (only STANDARD, ROW "
                                   "and COL are forwarded as they are)")
        if usable:
            values["display_formats"] = tuple(usable)
    magnifications = known_magnifications(_with_default(
        item.get("DefaultMagnificationType"), item.get("OtherMagnificationTypesAvailable")), where,
        notes)
    if magnifications:
        values["magnification_types"] = magnifications
        values["default_magnification_type"] = magnifications[0]
    smoothing = _with_default(item.get("DefaultSmoothingType"),
                              item.get("OtherSmoothingTypesAvailable"))
    if smoothing:
        values["smoothing_types"] = smoothing
    if item.get("PrintingBitDepth") is not None:
        values["supports_12_bit"] = int(item.PrintingBitDepth) >= 12
    classes = [str(u) for u in _many(item.get("SOPClassesSupported"))]
    if classes:
        values["supports_presentation_lut"] = PRESENTATION_LUT in classes
    return values


def cache_path(data_dir: Path, ae_title: str) -> Path:
    """``data_dir/profiles/<AE>.json`` (characters outside A-Z a-z 0-9 . _ - become _)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in ae_title.strip())
    return Path(data_dir) / FOLDER / f"{safe}.json"


def load(data_dir: Path, ae_title: str) -> DownstreamAnswer | None:
    """The cached answer for printer ``ae_title``; None when there is none (or it cannot be read:
    logged, and then the defaults apply until the next answer)."""
    path = cache_path(data_dir, ae_title)
    try:
        data = json.loads(path.read_bytes())
        return DownstreamAnswer.from_json(data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("printer %s: downstream profile %s unreadable (%s); built-in defaults used",
                    ae_title, path, exc)
        return None


def save(data_dir: Path, answer: DownstreamAnswer) -> Path:
    """Write ``answer`` durably to its cache file; returns the path.

    Raises
    ------
    ConfigError
        The file cannot be written (the data folder is not writable, the disk is full).
    """
    path = cache_path(data_dir, answer.ae_title)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_durably(path, answer.to_json())
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


__all__ = ["DownstreamAnswer", "cache_path", "configuration_values", "load", "save"]
