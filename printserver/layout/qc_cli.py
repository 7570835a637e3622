"""``printserver qc ...``: display QC from the command line (DESIGN "CLI" contract).

* ``printserver qc evaluate READINGS.csv [--ambient LA] [--display-class primary|secondary]
  [--json]``: the TG18 18-point luminance response test of a ``ddl,luminance`` CSV; exit status 0
  when the display passes, 1 when it fails, 2 on bad input;
* ``printserver qc pattern NAME [--size 1024x1024|2048x2048] [--bits 8|12] [--format png|dcm]
  -o FILE``: a TG18 / TG270 test pattern;
* ``printserver qc patterns``: the pattern names;
* ``printserver qc lut READINGS.csv [--ambient LA] --format csv|dcmtk|cal [-o FILE]``: the
  display's calibration LUT (CSV), its characteristic file for DCMTK, or an ArgyllCMS ``.cal``.

Thin: parse, call :mod:`printserver.gsdf` and :mod:`printserver.layout`, print. It lives in
``layout/`` because it needs both (``layout`` may import ``gsdf``, not the reverse).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path

from printserver.errors import InputFileError
from printserver.gsdf.conformance import DisplayEvaluation, check_ambient, evaluate_readings
from printserver.gsdf.display_lut import argyll_cal, dcmtk_characteristic, display_lut, lut_csv
from printserver.gsdf.qc_limits import DisplayClass
from printserver.gsdf.readings import read_readings_csv
from printserver.layout.pattern_files import pattern_dicom, pattern_png
from printserver.layout.qc_draw import PUBLISHED_SIZES
from printserver.layout.qc_patterns import QC_PATTERNS, render_pattern

#: exit status of ``qc evaluate`` (2, bad input, comes from printserver.cli)
EXIT_PASS, EXIT_FAIL = 0, 1
SIZES = {f"{s}x{s}": s for s in PUBLISHED_SIZES}
LUT_FORMATS = ("csv", "dcmtk", "cal")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``qc evaluate``, ``qc pattern``, ``qc patterns`` and ``qc lut``."""
    parser = sub.add_parser("qc", help="display QC: TG18 evaluation of luminance readings, test patterns",
                            description="Display quality control after AAPM TG18 / Report 270: evaluate "
                                        "a display's luminance readings against the DICOM GSDF, make "
                                        "test patterns, compute the display's calibration LUT.")
    parser.set_defaults(func=lambda args: parser.print_help(sys.stderr) or 2)
    qc_sub = parser.add_subparsers(dest="qc_command", metavar="{evaluate,pattern,patterns,lut}")

    evaluate = qc_sub.add_parser(
        "evaluate", help="TG18 18-point luminance response of a display (exit 0 pass, 1 fail)",
        description="Evaluate 18 luminance readings (CSV header ddl,luminance, readings without "
                    "ambient light, TG18-LN8 levels 0, 15, …, 255 or TG18-LN12 levels 0, 240, …, "
                    "4080) against the GSDF: L'max, L'min, LR', Lamb/Lmin, JNDs, the contrast "
                    "response kappa of each of the 17 intervals. Exit status 0 when the display "
                    "passes, 1 when it fails, 2 on bad input.")
    evaluate.add_argument("readings", metavar="READINGS.csv", help="CSV file with header ddl,luminance")
    _ambient_option(evaluate)
    evaluate.add_argument("--display-class", choices=[c.value for c in DisplayClass], default="primary",
                          help="primary (diagnostic: within 10 %% of the GSDF) or secondary (20 %%); "
                               "default primary")
    evaluate.add_argument("--json", action="store_true", help="print the result as JSON")
    evaluate.set_defaults(func=run_evaluate)

    pattern = qc_sub.add_parser(
        "pattern", help="write a TG18 / TG270 test pattern as PNG or DICOM",
        description="Write a display test pattern at a size TG18 publishes (never rescaled: show it "
                    "at one image pixel per display pixel). `printserver qc patterns` lists the names.")
    pattern.add_argument("name", metavar="NAME", help="pattern name, e.g. TG18-QC, TG18-LN8-01")
    pattern.add_argument("--size", choices=list(SIZES), default="1024x1024", help="default 1024x1024")
    pattern.add_argument("--bits", type=int, choices=(8, 12), default=None,
                         help="8 or 12 (default: 8, or 12 for the LN12 / ULN12 series)")
    pattern.add_argument("--format", choices=("png", "dcm"), default=None,
                         help="png or dcm (default: from the file name, else png)")
    pattern.add_argument("--output", "-o", metavar="FILE", required=True, help="the file to write")
    pattern.set_defaults(func=run_pattern)

    patterns = qc_sub.add_parser("patterns", help="list the test patterns",
                                 description="List the test patterns `qc pattern` makes.")
    patterns.set_defaults(func=run_patterns)

    lut = qc_sub.add_parser(
        "lut", help="the display's calibration LUT from its readings (csv, dcmtk, cal)",
        description="From 18 readings (as for evaluate), write the 256-entry LUT that makes the "
                    "display follow the GSDF between its own L'min and L'max (csv: input,output), "
                    "the readings as a DCMTK characteristic file (dcmtk), or an ArgyllCMS .cal file "
                    "that dispwin loads (cal).")
    lut.add_argument("readings", metavar="READINGS.csv", help="CSV file with header ddl,luminance")
    _ambient_option(lut)
    lut.add_argument("--format", choices=LUT_FORMATS, required=True, help="csv, dcmtk or cal")
    lut.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    lut.set_defaults(func=run_lut)


def _ambient_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ambient", type=float, metavar="LA", default=0.0,
                        help="reflected ambient light Lamb in cd/m² (measured with the display off), "
                             "added to every reading; default 0")


def run_evaluate(args: argparse.Namespace) -> int:
    """``printserver qc evaluate``."""
    readings = read_readings_csv(args.readings, check_ambient(args.ambient, "--ambient"))
    evaluation = evaluate_readings(readings, args.display_class)
    if args.json:
        emit(json.dumps(evaluation.as_dict(), indent=2) + "\n")
    else:
        emit(evaluation_text(evaluation) + "\n")
    return EXIT_PASS if evaluation.passed else EXIT_FAIL


def evaluation_text(evaluation: DisplayEvaluation) -> str:
    """A readable report of an evaluation (the non-JSON output of ``qc evaluate``)."""
    r = evaluation.response
    lines = [f"{r.readings.level_set} luminance response, {evaluation.display_class.value} display, "
             f"Lamb {r.ambient:g} cd/m²",
             f"L'min {r.lmin_prime:.4g} cd/m²   L'max {r.lmax_prime:.4g} cd/m²   LR' {r.luminance_ratio:.4g}   "
             f"Lamb/Lmin {r.ambient_ratio:.3g}",
             f"total JNDs {r.total_jnd:.1f}   JND per gray level {r.jnd_per_gray_level:.4g}",
             "", "  DDL       L'  GSDF L'   interval   dL/L  GSDF dL/L   kappa"]
    for k in range(r.ddl.size):
        row = f"{r.ddl[k]:5d} {r.luminance_prime[k]:8.4g} {r.target_luminance[k]:8.4g}"
        if k:
            row += (f"  {r.ddl[k - 1]:4d}-{r.ddl[k]:<4d} {r.contrast[k - 1]:7.4f} {r.contrast_gsdf[k - 1]:8.4f}"
                    f"  {100 * r.kappa[k - 1]:+6.1f} %")
        lines.append(row)
    lines.append("")
    for c in evaluation.checks:
        verdict = {True: "ok", False: "FAIL" if c.kind == "limit" else "warn", None: "-"}[c.passed]
        limit = "not judged" if c.limit is None else f"{c.comparison} {c.limit:.4g}"
        lines.append(f"  {verdict:4s} {c.name}: {c.value:.4g} ({limit}; {c.status})")
    lines.append(f"max |kappa| {100 * r.max_abs_kappa:.1f} % (DDL {r.worst_interval[0]}-{r.worst_interval[1]}): "
                 f"{'PASS' if evaluation.passed else 'FAIL'}")
    return "\n".join(lines)


def run_pattern(args: argparse.Namespace) -> int:
    """``printserver qc pattern``."""
    fmt = args.format or ("dcm" if Path(args.output).suffix.lower() in (".dcm", ".dicom") else "png")
    image = render_pattern(args.name, SIZES[args.size], args.bits)
    write_file(args.output, pattern_dicom(image) if fmt == "dcm" else pattern_png(image))
    return 0


def run_patterns(args: argparse.Namespace) -> int:
    """``printserver qc patterns``."""
    emit("".join(f"{p.name:<16} {'/'.join(map(str, p.bits)):>4}-bit  {p.description}\n"
                 for p in QC_PATTERNS.values()))
    return 0


def run_lut(args: argparse.Namespace) -> int:
    """``printserver qc lut``."""
    readings = read_readings_csv(args.readings, check_ambient(args.ambient, "--ambient"))
    if args.format == "dcmtk":
        text = dcmtk_characteristic(readings, f"{readings.level_set} readings of {args.readings}")
    else:
        lut = display_lut(readings)
        text = lut_csv(lut) if args.format == "csv" else argyll_cal(lut, f"GSDF calibration from {args.readings}")
    if args.output is None or args.output == "-":
        emit(text)
    else:
        write_file(args.output, text.encode("utf-8"))
    return 0


def emit(text: str) -> None:
    """Write ``text`` to stdout; a reader that stops early (``| head``) is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def write_file(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a temporary file renamed over it)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputFileError(path, None, f"cannot write: {exc.strerror}") from None
