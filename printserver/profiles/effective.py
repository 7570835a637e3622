"""The effective configuration of a printer: built-in defaults, then its profile, then its file.

This is the one place where a printer's values are decided. :func:`printserver.config.load_config`
calls :func:`effective_config`, so every part that reads a printer from a loaded configuration
(the Print SCP's validation and N-GET answers, the renderer, the outputs, ``printserver printers
show`` and the web) sees the same values. Each value comes from, in this order of precedence:

1. ``config``: the key is set in the printer's ``[[printers]]`` table;
2. ``profile``: the printer's ``profile`` gives it (:mod:`printserver.profiles.dcmtk`,
   :mod:`printserver.profiles.downstream`);
3. ``default``: printserver's built-in default (``docs/configuration.md``).

A list and its default go together: when the file sets a list (``film_sizes``) and the profile
the default (``default_film_size``) that is not in it, the list's first value is the default.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from printserver.errors import ConfigError
from printserver.profiles import dcmtk, downstream

if TYPE_CHECKING:  # pragma: no cover
    from printserver.config import Config, PrinterConfig

DEFAULT, PROFILE, CONFIG = "default", "profile", "config"
#: (list key, its default key): the default must be one of the list
PAIRS = (("film_sizes", "default_film_size"), ("medium_types", "default_medium_type"),
         ("film_destinations", "default_film_destination"),
         ("magnification_types", "default_magnification_type"),
         ("resolution_dpi", "default_resolution"))


def settable_keys(printer: PrinterConfig) -> tuple[str, ...]:
    """The printer keys of the configuration file (internal fields left out), in field order."""
    return tuple(f.name for f in dataclasses.fields(printer) if not f.metadata.get("internal"))


def profile_values(printer: PrinterConfig, data_dir: Path) -> tuple[dict[str, Any], str]:
    """The values the printer's ``profile`` gives, and a sentence saying where they come from.

    Raises
    ------
    ConfigError
        An unknown profile kind, a DCMTK file or entry that cannot be read, ``downstream`` on a
        printer whose output is not a DICOM film printer.
    """
    spec = printer.profile.strip()
    where = f"printer {printer.ae_title}: profile {spec!r}"
    if not spec:
        return {}, ""
    if spec.lower().startswith("dcmtk:"):
        path, sep, name = spec[len("dcmtk:"):].rpartition("#")
        if not sep or not path.strip() or not name.strip():
            raise ConfigError(f"{where}: expected dcmtk:PATH#PRINTER")
        try:
            entry = dcmtk.printer_entry(path.strip(), name.strip())
            return (dcmtk.profile_values(entry, where),
                    f"DCMTK printer entry {entry.name} of {path.strip()}")
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if spec.lower() == "downstream":
        if printer.output.kind.strip().lower() != "dicom":
            raise ConfigError(f"{where}: needs a dicom output (a film printer to ask), "
                              f"not {printer.output.kind!r}")
        answer = downstream.load(data_dir, printer.ae_title)
        if answer is None:
            return {}, "downstream film printer: not asked yet, built-in defaults"
        return answer.values(printer.output.mode, notes=[]), answer.describe()
    raise ConfigError(f"{where}: not dcmtk:PATH#PRINTER or downstream")


def effective_printer(printer: PrinterConfig, data_dir: Path) -> PrinterConfig:
    """``printer`` with its profile applied under the keys its file set, ``origins`` filled.

    Idempotent: the keys the file set are kept in ``printer.configured``, every other key is
    decided again (profile or built-in default), so a profile that changed is taken over whole.
    A printer built in code (never resolved, nothing recorded) counts every key that differs
    from the built-in default as set.

    Raises
    ------
    ConfigError
        The profile cannot be read, or the values together are inconsistent (e.g. a default
        film size the film sizes do not include), naming the printer and the profile.
    """
    values, source = profile_values(printer, data_dir)
    defaults = type(printer)()
    configured = printer.configured
    if not configured and not printer.origins:  # built in code, not read from a file
        configured = frozenset(k for k in settable_keys(printer)
                               if getattr(printer, k) != getattr(defaults, k))
    changes: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for key in settable_keys(printer):
        if key in configured:
            origins[key] = CONFIG
        elif key in values:
            changes[key], origins[key] = values[key], PROFILE
        else:
            changes[key], origins[key] = getattr(defaults, key), DEFAULT
    for list_key, default_key in PAIRS:
        listed = changes.get(list_key, getattr(printer, list_key))
        chosen = changes.get(default_key, getattr(printer, default_key))
        if not listed:
            raise ConfigError(f"printer {printer.ae_title}: {list_key} is empty")
        if origins[list_key] == CONFIG and origins[default_key] != CONFIG and chosen not in listed:
            changes[default_key], origins[default_key] = next(iter(listed)), CONFIG
    try:
        return dataclasses.replace(printer, **changes, configured=configured, origins=origins,
                                   profile_source=source)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (with profile {printer.profile!r}: {source})") from None


def effective_config(config: Config) -> Config:
    """``config`` with every printer effective (:func:`effective_printer`)."""
    printers = tuple(effective_printer(p, config.data_dir) for p in config.printers)
    return dataclasses.replace(config, printers=printers)


__all__ = ["CONFIG", "DEFAULT", "PROFILE", "effective_config", "effective_printer",
           "profile_values", "settable_keys"]
