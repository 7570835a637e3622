"""``printserver gsdf ...``: GSDF target curves and calibration LUTs as CSV (DESIGN "CLI" contract).

* ``printserver gsdf curve (--lum-range MIN MAX | --od-range DMIN DMAX [--illumination L0]
  [--ambient LA]) [--levels N] [--output FILE]``: header ``ddl,jnd,luminance`` (plus ``od`` for the
  OD form); the GSDF target for N equally spaced P-values (PS3.14 §7.1, §7.2).
* ``printserver gsdf lut (--monitor-file F | --printer-file F) [--ambient LA] [--illumination L0]
  [--levels N] [--output FILE]``: header ``input,output``; the LUT that makes the measured device
  follow GSDF.

Thin: the curves come from :mod:`printserver.gsdf.target` and :mod:`printserver.gsdf.calibration`;
this module parses the options and writes CSV. Impossible values raise
:class:`printserver.errors.PrintserverError` subclasses naming the parameter, which
``printserver.cli`` prints on one line with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from printserver.errors import InputFileError, ParameterError
from printserver.gsdf.calibration import calibration_lut
from printserver.gsdf.curves import MONITOR, PRINTER, read_characteristic_file
from printserver.gsdf.hardcopy import DEFAULT_ILLUMINATION, DEFAULT_REFLECTED_AMBIENT_LIGHT
from printserver.gsdf.target import display_target, film_target


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
    """``printserver gsdf curve``: :func:`printserver.gsdf.target.display_target` or
    :func:`~printserver.gsdf.target.film_target` as CSV."""
    if args.lum_range is not None:
        if args.illumination is not None:
            raise ParameterError("--illumination", "only applies to --od-range")
        curve = display_target(*args.lum_range, ambient=args.ambient or 0.0, levels=args.levels)
    else:
        curve = film_target(*args.od_range,
                            illumination=(DEFAULT_ILLUMINATION if args.illumination is None
                                          else args.illumination),
                            ambient=(DEFAULT_REFLECTED_AMBIENT_LIGHT if args.ambient is None
                                     else args.ambient),
                            levels=args.levels)
    with _output(args.output) as out:
        out.write(",".join(curve.columns) + "\n")
        for i in range(curve.levels):
            row = f"{i},{curve.jnd[i]:.6f},{curve.luminance[i]:.10g}"
            if curve.od is not None:
                row += f",{curve.od[i]:.6f}"
            out.write(row + "\n")
    return 0


def run_lut(args: argparse.Namespace) -> int:
    """``printserver gsdf lut``: :func:`printserver.gsdf.calibration.calibration_lut` of the
    measured device as CSV."""
    if args.monitor_file is not None:
        if args.illumination is not None:
            raise ParameterError("--illumination", "only applies to --printer-file")
        curve = read_characteristic_file(args.monitor_file, MONITOR)
    else:
        curve = read_characteristic_file(args.printer_file, PRINTER)
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
