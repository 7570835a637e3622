"""Printer entries of DCMTK's configuration file (``dcmpstat.cfg``) as printer profile values.

**The file format** (DCMTK's ``OFConfigFile``, as its header ``ofconfig.h`` documents it):

* ``[[NAME]]`` opens a level-2 section, ``[NAME]`` a level-1 section inside it, and
  ``KEYWORD = VALUE`` is an entry of the level-1 section above it;
* keywords and section names are read upper-case (``Aetitle`` is ``AETITLE``);
* a line whose first character is ``#`` is a comment; empty lines are dropped;
* a value continues on the following lines that start with white space: the white space is
  dropped, the line feed kept.

**Printers** are the level-1 sections of ``[[COMMUNICATION]]`` whose ``Type`` is ``PRINTER``
(a Print SCP the DCMTK print client sends to) or ``LOCALPRINTER`` (DCMTK's own Print SCP). Their
lists are backslash-separated and **the first value is the printer's default** (DCMTK's own
rule). :func:`profile_values` turns one entry into printserver's printer keys:

============================== ================================================================
DCMTK key                      printer keys
============================== ================================================================
``FilmSizeID``                 ``film_sizes``, ``default_film_size`` (sizes printserver cannot
                               lay out are left out, with a log line)
``MediumType``                 ``medium_types``, ``default_medium_type``
``FilmDestination``            ``film_destinations``, ``default_film_destination``
``MagnificationType``          ``magnification_types``, ``default_magnification_type``
``SmoothingType``              ``smoothing_types`` (absent: the printer has no Smoothing Type,
                               as in DCMTK)
``ResolutionID``               ``resolution_dpi`` (the ids, each with printserver's dots per inch
                               for it, else those of the default), ``default_resolution``
``DisplayFormat``              ``display_formats``: ``STANDARD\\C,R`` for each ``C,R`` and its
                               landscape form ``STANDARD\\R,C``
``BorderDensity``,             ``default_border_density``, ``default_empty_image_density``
``EmptyImageDensity``
``MaxDensity``, ``MinDensity`` ``max_density``, ``min_density`` (the first value)
``Supports12Bit``              ``supports_12_bit`` (DCMTK's default: true)
``SupportsTrim``               ``supports_trim`` (DCMTK's default: false)
``SupportsPresentationLUT``    ``supports_presentation_lut`` (DCMTK's default: false)
``Annotation`` (``pos\\ID``)   ``annotation_formats``: ``{ID: pos}``
``Configuration_1`` …          ``configuration_information``, in that order
============================== ================================================================

Not used: the network settings (``Hostname``, ``Port``, ``Aetitle``, ``MaxPDU``,
``ImplicitOnly``, TLS), ``SupportsImageSize`` and ``SupportsDecimateCrop`` (printserver supports
both), ``PresentationLUTMatchRequired`` and the other client-side switches.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from printserver.errors import ConfigError
from printserver.vocabulary import FILM_SIZES, MagnificationType

log = logging.getLogger(__name__)

#: DCMTK's boolean words (``OFConfigFile::get_bool_value``)
_TRUE = {"YES", "ON", "1", "TRUE"}
_FALSE = {"NO", "OFF", "0", "FALSE"}
#: Type of the [[COMMUNICATION]] entries that are Print SCPs
PRINTER_TYPES = ("PRINTER", "LOCALPRINTER")
#: dots per inch of Requested Resolution IDs when nothing else says (printserver's defaults)
DEFAULT_DPI = {"STANDARD": 320.0, "HIGH": 508.0}
_SECTION = re.compile(r"(\[+)\s*([^\[\]]*?)\s*(\]+)\s*$")


@dataclass(frozen=True)
class DcmtkEntry:
    """One level-1 section of a DCMTK configuration file.

    Attributes
    ----------
    name : str
        The section name, upper-case (``IHEFULL``).
    values : mapping of str to str
        Keyword (upper-case) → value as written (continuation lines joined with line feeds).
    """

    name: str
    values: Mapping[str, str]

    def get(self, keyword: str, default: str | None = None) -> str | None:
        return self.values.get(keyword.upper(), default)

    def list(self, keyword: str) -> tuple[str, ...]:
        """A backslash-separated list (white space around each value dropped, empty ones too)."""
        raw = self.get(keyword)
        if raw is None:
            return ()
        return tuple(v.strip() for v in raw.split("\\") if v.strip())

    def flag(self, keyword: str, default: bool) -> bool:
        """A boolean the way DCMTK reads it: yes/no, on/off, 1/0, true/false, any case; anything
        else (or absent) is ``default``."""
        raw = (self.get(keyword) or "").strip().upper()
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        return default

    @property
    def kind(self) -> str:
        """``Type`` (DCMTK's default: STORAGE)."""
        return (self.get("TYPE") or "STORAGE").strip().upper()

    @property
    def is_printer(self) -> bool:
        return self.kind in PRINTER_TYPES


def parse_config(text: str) -> dict[str, dict[str, DcmtkEntry]]:
    """The sections of a DCMTK configuration text: level-2 name → level-1 name → entry.

    Raises
    ------
    ConfigError
        A line that is neither a section, an entry, a continuation nor a comment, or an entry
        before any section.
    """
    tree: dict[str, dict[str, dict[str, str]]] = {}
    level2: dict[str, dict[str, str]] | None = None
    level1: dict[str, str] | None = None
    last_key: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        if line[0] in " \t":  # a continuation of the value above
            if level1 is None or last_key is None:
                raise ConfigError(f"line {number}: continuation line without an entry above")
            level1[last_key] += "\n" + line.strip()
            continue
        section = _SECTION.match(line)
        if section and len(section.group(1)) == len(section.group(3)):
            name = section.group(2).upper()
            if len(section.group(1)) == 2:
                level2 = tree.setdefault(name, {})
                level1 = None
            elif len(section.group(1)) == 1:
                if level2 is None:
                    raise ConfigError(f"line {number}: [{name}] before any [[SECTION]]")
                level1 = level2.setdefault(name, {})
            else:
                raise ConfigError(f"line {number}: sections have one or two brackets")
            last_key = None
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"line {number}: expected KEYWORD = VALUE, got {line.strip()!r}")
        if level1 is None:
            raise ConfigError(f"line {number}: {key.strip()} before any [SECTION]")
        last_key = key.strip().upper()
        level1.setdefault(last_key, value.strip())  # DCMTK finds the first of repeated keys
    return {l2: {l1: DcmtkEntry(l1, values) for l1, values in sections.items()}
            for l2, sections in tree.items()}


def read_config(path: str | Path) -> dict[str, dict[str, DcmtkEntry]]:
    """:func:`parse_config` of a file.

    Raises
    ------
    ConfigError
        The file cannot be read or parsed (the message names it).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="latin-1")
    except OSError as exc:
        raise ConfigError(f"DCMTK configuration {p}: {exc.strerror or exc}") from None
    try:
        return parse_config(text)
    except ConfigError as exc:
        raise ConfigError(f"DCMTK configuration {p}: {exc}") from None


def printer_entries(path: str | Path) -> dict[str, DcmtkEntry]:
    """The printer entries (``Type`` PRINTER or LOCALPRINTER) of ``[[COMMUNICATION]]``, in the
    file's order."""
    communication = read_config(path).get("COMMUNICATION", {})
    return {name: entry for name, entry in communication.items() if entry.is_printer}


def printer_entry(path: str | Path, name: str) -> DcmtkEntry:
    """The printer entry ``name`` (any case) of the file.

    Raises
    ------
    ConfigError
        No such printer entry (the message lists those there are).
    """
    printers = printer_entries(path)
    entry = printers.get(name.strip().upper())
    if entry is None:
        raise ConfigError(f"DCMTK configuration {path} has no printer entry {name!r} "
                          f"(printers: {', '.join(printers) or 'none'})")
    return entry


def _first_int(entry: DcmtkEntry, keyword: str) -> int | None:
    values = entry.list(keyword)
    if not values:
        return None
    try:
        return int(values[0])
    except ValueError:
        raise ConfigError(f"{entry.name}: {keyword} {values[0]!r} is not a number") from None


def display_formats(pairs: tuple[str, ...], where: str) -> tuple[str, ...]:
    """``C,R`` pairs (DCMTK's DisplayFormat, for portrait) as ``STANDARD\\C,R`` and, for
    landscape, ``STANDARD\\R,C`` (DCMTK swaps them itself), in the file's order."""
    formats: list[str] = []
    for pair in pairs:
        match = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*", pair)
        if not match or "0" in (match.group(1), match.group(2)):
            raise ConfigError(f"{where}: DisplayFormat {pair!r} is not C,R")
        columns, rows = match.group(1), match.group(2)
        for text in (f"STANDARD\\{columns},{rows}", f"STANDARD\\{rows},{columns}"):
            if text not in formats:
                formats.append(text)
    return tuple(formats)


def note(notes: list[str] | None, where: str, text: str) -> None:
    """Something a profile left out: appended to ``notes`` when given (the caller reports it),
    else logged as a warning."""
    if notes is None:
        log.warning("%s: %s", where, text)
    else:
        notes.append(text)


def _keep_known(values: tuple[str, ...], known_names: tuple[str, ...], what: str, where: str,
                notes: list[str] | None) -> tuple[str, ...]:
    known = tuple(v.upper() for v in values if v.upper() in known_names)
    dropped = [v for v in values if v.upper() not in known_names]
    if dropped:
        note(notes, where, f"{what} {', '.join(dropped)} left out (printserver knows "
                           f"{', '.join(known_names)})")
    return known


def known_film_sizes(sizes: tuple[str, ...], where: str,
                     notes: list[str] | None = None) -> tuple[str, ...]:
    """The Film Size IDs printserver can lay out (PS3.3 C.13.3); others are left out
    (:func:`note`)."""
    return _keep_known(sizes, tuple(FILM_SIZES), "film sizes", where, notes)


def known_magnifications(types: tuple[str, ...], where: str,
                         notes: list[str] | None = None) -> tuple[str, ...]:
    """The Magnification Types printserver renders (PS3.3 C.13.3); others are left out
    (:func:`note`)."""
    return _keep_known(types, tuple(m.value for m in MagnificationType), "magnification types",
                       where, notes)


def profile_values(entry: DcmtkEntry, where: str = "") -> dict[str, Any]:
    """The printer keys a DCMTK printer entry gives (see the module docstring's table).

    Only keys the entry says something about are returned (and the three ``Supports…`` flags,
    whose absence means DCMTK's default).

    Raises
    ------
    ConfigError
        A value that cannot be read (a DisplayFormat that is not C,R, a density that is not a
        number, a FilmSizeID list without any size printserver knows).
    """
    where = where or entry.name
    values: dict[str, Any] = {}
    sizes = entry.list("FilmSizeID")
    if sizes:
        known = known_film_sizes(sizes, where)
        if not known:
            raise ConfigError(f"{where}: FilmSizeID lists no film size printserver knows")
        values["film_sizes"], values["default_film_size"] = known, known[0]
    for dcmtk_key, key, default_key in (
            ("MediumType", "medium_types", "default_medium_type"),
            ("FilmDestination", "film_destinations", "default_film_destination")):
        listed = tuple(v.upper() for v in entry.list(dcmtk_key))
        if listed:
            values[key], values[default_key] = listed, listed[0]
    magnifications = entry.list("MagnificationType")
    if magnifications:
        known = known_magnifications(magnifications, where)
        if known:
            values["magnification_types"] = known
            values["default_magnification_type"] = known[0]
    values["smoothing_types"] = tuple(v.upper() for v in entry.list("SmoothingType"))
    resolutions = tuple(v.upper() for v in entry.list("ResolutionID"))
    if resolutions:
        fallback = DEFAULT_DPI.get(resolutions[0], DEFAULT_DPI["STANDARD"])
        values["resolution_dpi"] = {r: DEFAULT_DPI.get(r, fallback) for r in resolutions}
        values["default_resolution"] = resolutions[0]
    pairs = entry.list("DisplayFormat")
    if pairs:
        values["display_formats"] = display_formats(pairs, where)
    for dcmtk_key, key in (("BorderDensity", "default_border_density"),
                           ("EmptyImageDensity", "default_empty_image_density")):
        listed = entry.list(dcmtk_key)
        if listed:
            values[key] = listed[0].upper()
    for dcmtk_key, key in (("MaxDensity", "max_density"), ("MinDensity", "min_density")):
        number = _first_int(entry, dcmtk_key)
        if number is not None:
            values[key] = number
    values["supports_12_bit"] = entry.flag("Supports12Bit", True)
    values["supports_trim"] = entry.flag("SupportsTrim", False)
    values["supports_presentation_lut"] = entry.flag("SupportsPresentationLUT", False)
    annotation = entry.list("Annotation")
    if annotation:
        if len(annotation) != 2 or not annotation[0].isdigit():
            raise ConfigError(f"{where}: Annotation {entry.get('Annotation')!r} is not "
                              "POSITION\\ID")
        values["annotation_formats"] = {annotation[1].upper(): max(1, int(annotation[0]))}
    configurations = []
    n = 1
    while entry.get(f"CONFIGURATION_{n}") is not None:
        configurations.append(str(entry.get(f"CONFIGURATION_{n}")))
        n += 1
    if configurations:
        values["configuration_information"] = tuple(configurations)
    return values


__all__ = ["DcmtkEntry", "PRINTER_TYPES", "display_formats", "known_film_sizes",
           "known_magnifications", "note", "parse_config", "printer_entries", "printer_entry",
           "profile_values", "read_config"]
