"""``printserver gsdf ...``: GSDF target curves and calibration LUTs as CSV (DESIGN "CLI" contract).

* ``printserver gsdf curve (--lum-range MIN MAX | --od-range DMIN DMAX [--illumination L0]
  [--ambient LA]) [--levels N] [--output FILE]``: header ``ddl,jnd,luminance`` (plus ``od`` for the
  OD form); the GSDF target for N equally spaced P-values (PS3.14 §7.1, §7.2).
* ``printserver gsdf lut (--monitor-file F | --printer-file F) [--ambient LA] [--illumination L0]
  [--levels N] [--output FILE]``: header ``input,output``; the LUT that makes the measured device
  follow GSDF.

Impossible values raise :class:`printserver.errors.PrintserverError` subclasses, which
``printserver.cli`` prints on one line with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

import numpy as np

from printserver.errors import InputFileError, ParameterError
from printserver.gsdf.calibration import calibration_lut
from printserver.gsdf.curves import MONITOR, PRINTER, read_characteristic_file
from printserver.gsdf.gsdf import luminance_from_pvalues, pvalue_jnd_range
from printserver.gsdf.hardcopy import (DEFAULT_ILLUMINATION, DEFAULT_REFLECTED_AMBIENT_LIGHT,
                                       film_luminance_range, od_from_luminance)
from printserver.gsdf.softcopy import check_display


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``gsdf curve`` and ``gsdf lut`` to the ``printserver`` command."""
    parser = sub.add_parser("gsdf", help="PS3.14 GSDF target curves and calibration LUTs (CSV)",
                            description="PS3.14 Grayscale Standard Display Function: target curves "
                                        "and calibration LUTs, written as CSV.")
    parser.set_defaults(func=lambda args: parser.print_help(sys.stderr) or 2)
    gsdf_sub = parser.add_subparsers(dest="gsdf_command", metavar="{curve,lut}")

    curve = gsdf_sub.add_parser(
        "curve", help="GSDF target for N equally spaced P-values (CSV ddl,jnd,luminance[,od])",
        description="Write the GSDF target luminance (and optical density for --od-range) of N equally "
                    "spaced P-values, as CSV with header ddl,jnd,luminance (plus od). Luminances include "
                    "the ambient light. PS3.14 §7.1, §7.2.")
    form = curve.add_mutually_exclusive_group(required=True)
    form.add_argument("--lum-range", nargs=2, type=float, metavar=("MIN", "MAX"),
                      help="display luminance range in cd/m² (without ambient light)")
    form.add_argument("--od-range", nargs=2, type=float, metavar=("DMIN", "DMAX"),
                      help="film density range in OD (e.g. 0.20 3.00)")
    curve.add_argument("--illumination", type=float, metavar="L0", default=None,
                       help=f"light-box luminance for --od-range, cd/m² (default {DEFAULT_ILLUMINATION:g})")
    curve.add_argument("--ambient", type=float, metavar="LA", default=None,
                       help="reflected ambient light, cd/m² (default "
                            f"{DEFAULT_REFLECTED_AMBIENT_LIGHT:g} with --od-range, 0 with --lum-range)")
    curve.add_argument("--levels", type=int, default=256, metavar="N",
                       help="number of P-values / DDLs, 2 … 65536 (default 256)")
    curve.add_argument("--output", "-o", metavar="FILE", help="write the CSV here instead of stdout")
    curve.set_defaults(func=run_curve)

    lut = gsdf_sub.add_parser(
        "lut", help="calibration LUT input → device DDL for a measured device (CSV input,output)",
        description="Write the LUT (CSV header input,output) that makes a measured monitor or printer "
                    "follow the GSDF between its own extremes. Characteristic files in DCMTK's text "
                    "format (monitor.lut, printer.lut) or CSV (ddl,luminance / ddl,od).")
    source = lut.add_mutually_exclusive_group(required=True)
    source.add_argument("--monitor-file", metavar="F", help="monitor characteristic file (DDL → cd/m²)")
    source.add_argument("--printer-file", metavar="F", help="printer characteristic file (DDL → OD)")
    lut.add_argument("--ambient", type=float, metavar="LA", default=None,
                     help="reflected ambient light, cd/m² (default: the file's, else 0 for a monitor "
                          f"and {DEFAULT_REFLECTED_AMBIENT_LIGHT:g} for a printer)")
    lut.add_argument("--illumination", type=float, metavar="L0", default=None,
                     help=f"light-box luminance for a printer, cd/m² (default: the file's, else "
                          f"{DEFAULT_ILLUMINATION:g})")
    lut.add_argument("--levels", type=int, default=None, metavar="N",
                     help="input levels, 2**bits for 8 … 16 bits (default: the device's DDL count)")
    lut.add_argument("--output", "-o", metavar="FILE", help="write the CSV here instead of stdout")
    lut.set_defaults(func=run_lut)


def run_curve(args: argparse.Namespace) -> int:
    """``printserver gsdf curve``."""
    levels = args.levels
    if levels < 2 or levels > 65536:
        raise ParameterError("--levels", f"must be 2 … 65536; got {levels}")
    if args.lum_range is not None:
        if args.illumination is not None:
            raise ParameterError("--illumination", "only applies to --od-range")
        lmin, lmax = check_display(*args.lum_range, ambient=args.ambient or 0.0)
        od = None
    else:
        dmin, dmax = args.od_range
        illumination = DEFAULT_ILLUMINATION if args.illumination is None else args.illumination
        ambient = DEFAULT_REFLECTED_AMBIENT_LIGHT if args.ambient is None else args.ambient
        lmin, lmax = film_luminance_range(dmin, dmax, illumination, ambient)
    jmin, jmax = pvalue_jnd_range(lmin, lmax)
    p = np.arange(levels)
    jnd = jmin + p * ((jmax - jmin) / (levels - 1))
    lum = luminance_from_pvalues(p, None, lmin, lmax, levels=levels)
    if args.od_range is not None:
        od = np.clip(od_from_luminance(lum, illumination, ambient), dmin, dmax)
    with _output(args.output) as out:
        out.write("ddl,jnd,luminance" + (",od" if od is not None else "") + "\n")
        for i in range(levels):
            row = f"{i},{jnd[i]:.6f},{lum[i]:.10g}"
            if od is not None:
                row += f",{od[i]:.6f}"
            out.write(row + "\n")
    return 0


def run_lut(args: argparse.Namespace) -> int:
    """``printserver gsdf lut``."""
    if args.monitor_file is not None:
        if args.illumination is not None:
            raise ParameterError("--illumination", "only applies to --printer-file")
        curve = read_characteristic_file(args.monitor_file, MONITOR)
    else:
        curve = read_characteristic_file(args.printer_file, PRINTER)
        if args.illumination is not None and args.illumination <= 0:
            raise ParameterError("--illumination", f"must be > 0 cd/m²; got {args.illumination:g}")
    if args.ambient is not None and args.ambient < 0:
        raise ParameterError("--ambient", f"must be ≥ 0 cd/m²; got {args.ambient:g}")
    curve = curve.with_conditions(ambient=args.ambient, illumination=args.illumination)
    lut = calibration_lut(curve, levels=args.levels)
    with _output(args.output) as out:
        out.write("input,output\n")
        out.writelines(f"{i},{ddl}\n" for i, ddl in enumerate(lut.output.tolist()))
    return 0


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        try:
            yield sys.stdout
            sys.stdout.flush()
        except BrokenPipeError:
            # the reader stopped early (``| head``): not an error; silence the final flush
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return
    try:
        handle = open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InputFileError(path, None, f"cannot write: {exc.strerror}") from None
    with handle:
        yield handle
