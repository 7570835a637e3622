"""``printserver print``: the Print SCU as a command (DESIGN "CLI" contract).

``printserver print --host H --port P --called-aet AET [--calling-aet AE] [--format STANDARD\\C,R]
[--film-size ID] [--orientation PORTRAIT|LANDSCAPE] [--copies N] [--medium TYPE]
[--magnification TYPE] [--min-density N] [--max-density N] [--plut IDENTITY|LIN OD] [--bits 8|12]
[--label TEXT] [--annotation-format ID] [--session-print] [--timeout S] [--json]
(FILE.dcm ... | --pattern NAME)``

Exit status: 0 when every response was a success or a warning, 1 when the printer answered a
failure (or stopped answering), 2 on bad usage, an unreadable or unprintable file, or an
association the printer rejected; each of those is one line on stderr, without a traceback.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from typing import NoReturn

from printserver.errors import ParameterError
from printserver.layout.patterns import PATTERNS
from printserver.scu.images import ImageSource, image_source, pattern_image
from printserver.scu.progress import progress_for
from printserver.scu.report import as_json, as_text
from printserver.scu.session import FilmOptions, PrintSCU
from printserver.vocabulary import FilmOrientation, ImageDisplayFormat, VocabularyError

#: a Code String value (PS3.5 6.2): upper case, digits, space, underscore, at most 16 characters
_CS = re.compile(r"[A-Z0-9_ ]{1,16}")
#: Image Display Formats named by the printer's conformance statement (PS3.3 C.13.3)
_NAMED_FORMAT = re.compile(r"SLIDE|SUPERSLIDE|CUSTOM\\\d+")
_PLUT_SHAPES = {"IDENTITY": "IDENTITY", "LIN OD": "LIN OD", "LIN_OD": "LIN OD",
                "LIN-OD": "LIN OD", "LINOD": "LIN OD"}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``print`` to the ``printserver`` command."""
    p = sub.add_parser(
        "print", help="send DICOM images or a test pattern to a DICOM printer (Print SCU)",
        description="Print DICOM grayscale images (windowed to the print range: Modality LUT, "
                    "first VOI window or VOI LUT, else min/max; MONOCHROME1 inverted) or a test "
                    "pattern on a DICOM film printer (PS3.4 Annex H), and report every status the "
                    "printer answered. Images fill the boxes of the Image Display Format in order; "
                    "more images than boxes make more films. Exit 0: all responses success or "
                    "warning; 1: the printer answered a failure; 2: bad usage, unreadable file or "
                    "association rejected.")
    p.error = _one_line_error(p)  # type: ignore[method-assign]
    net = p.add_argument_group("printer")
    net.add_argument("--host", required=True, help="printer host name or address")
    net.add_argument("--port", required=True, type=int, help="printer DICOM port")
    net.add_argument("--called-aet", required=True, metavar="AET", help="printer AE title")
    net.add_argument("--calling-aet", default="PRINTSCU", metavar="AE",
                     help="our AE title (default PRINTSCU)")
    net.add_argument("--timeout", type=float, default=30.0, metavar="S",
                     help="seconds to connect, negotiate and wait for each response (default 30)")
    film = p.add_argument_group("film (left out: the printer's default)")
    film.add_argument("--format", default="STANDARD\\1,1", metavar="FORMAT",
                      help="Image Display Format: STANDARD\\C,R, ROW\\..., COL\\..., SLIDE, "
                           "SUPERSLIDE or CUSTOM\\i (default STANDARD\\1,1)")
    film.add_argument("--film-size", metavar="ID",
                      help="Film Size ID, e.g. 14INX17IN, 8INX10IN, A4")
    film.add_argument("--orientation", type=str.upper, choices=[o.value for o in FilmOrientation],
                      help="Film Orientation")
    film.add_argument("--copies", type=int, default=1, metavar="N",
                      help="Number of Copies (default 1)")
    film.add_argument("--medium", metavar="TYPE",
                      help="Medium Type, e.g. PAPER, CLEAR FILM, BLUE FILM")
    film.add_argument("--magnification", metavar="TYPE",
                      help="Magnification Type, e.g. REPLICATE, BILINEAR, CUBIC, NONE")
    film.add_argument("--min-density", type=int, metavar="N", help="Min Density, hundredths of OD")
    film.add_argument("--max-density", type=int, metavar="N", help="Max Density, hundredths of OD")
    film.add_argument("--plut", metavar="SHAPE",
                      help="create a Presentation LUT with this shape (IDENTITY or LIN OD) and "
                           "reference it from every film box")
    film.add_argument("--bits", type=int, choices=(8, 12), default=12,
                      help="bits per pixel sent (default 12; use 8 for printers without 12-bit)")
    film.add_argument("--label", metavar="TEXT", help="Film Session Label (and annotation text)")
    film.add_argument("--annotation-format", metavar="ID",
                      help="Annotation Display Format ID (printer-defined, e.g. LABEL on "
                           "printserver): --label is written into annotation box 1")
    film.add_argument("--session-print", action="store_true",
                      help="print all films with one Film Session N-ACTION instead of one Film "
                           "Box N-ACTION per film")
    p.add_argument("--json", action="store_true", help="report as JSON on stdout")
    what = p.add_argument_group("what to print (one of)")
    what.add_argument("files", nargs="*", metavar="FILE.dcm", help="DICOM grayscale images")
    what.add_argument("--pattern", metavar="NAME", type=str.upper,
                      help="a generated test pattern in every box of one film: "
                           + ", ".join(PATTERNS))
    p.set_defaults(func=run)


def _one_line_error(parser: argparse.ArgumentParser):
    """argparse's ``error`` without the usage block: one line, exit status 2."""
    def error(message: str) -> NoReturn:
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)
    return error


def film_options(args: argparse.Namespace) -> FilmOptions:
    """Check the film options (syntax only: what a printer accepts is the printer's to say)."""
    fmt = str(args.format).strip().upper()
    if not _NAMED_FORMAT.fullmatch(fmt):
        try:
            ImageDisplayFormat.parse(fmt, max_boxes=10_000, max_per_line=1_000)
        except VocabularyError as exc:
            raise ParameterError("--format", str(exc)) from None
    codes = {}
    for option, value in (("--film-size", args.film_size), ("--medium", args.medium),
                          ("--magnification", args.magnification),
                          ("--annotation-format", args.annotation_format)):
        if value is None:
            continue
        text = str(value).strip().upper()
        if not _CS.fullmatch(text):
            raise ParameterError(option, f"{value!r} is not a DICOM code string (A-Z, 0-9, "
                                         "space, _; at most 16 characters)")
        codes[option] = text
    if args.copies < 1:
        raise ParameterError("--copies", f"must be >= 1, got {args.copies}")
    for option, value in (("--min-density", args.min_density),
                          ("--max-density", args.max_density)):
        if value is not None and not 0 <= value <= 65535:
            raise ParameterError(option, f"hundredths of OD, 0 … 65535; got {value}")
    if (args.min_density is not None and args.max_density is not None
            and args.min_density >= args.max_density):
        raise ParameterError("--min-density", "must be below --max-density")
    plut = None
    if args.plut is not None:
        plut = _PLUT_SHAPES.get(" ".join(str(args.plut).upper().split()))
        if plut is None:
            raise ParameterError("--plut", f"{args.plut!r}: use IDENTITY or 'LIN OD'")
    if args.label is not None and (len(args.label) > 64 or "\\" in args.label):
        raise ParameterError("--label", "at most 64 characters, no backslash")
    if args.annotation_format and not args.label:
        raise ParameterError("--annotation-format", "needs --label (the annotation text)")
    return FilmOptions(
        image_display_format=fmt, film_size_id=codes.get("--film-size"),
        film_orientation=args.orientation, number_of_copies=args.copies,
        medium_type=codes.get("--medium"), magnification_type=codes.get("--magnification"),
        min_density=args.min_density, max_density=args.max_density,
        presentation_lut_shape=plut, film_session_label=args.label,
        annotation_display_format_id=codes.get("--annotation-format"),
        session_print=args.session_print)


def run(args: argparse.Namespace) -> int:
    """``printserver print``."""
    if bool(args.files) == bool(args.pattern):
        raise ParameterError("print", "give DICOM files or --pattern NAME (one of them)")
    if not 0 < args.port < 65536:
        raise ParameterError("--port", f"must be 1 … 65535, got {args.port}")
    for option, title in (("--called-aet", args.called_aet), ("--calling-aet", args.calling_aet)):
        if not 0 < len(title.strip()) <= 16 or "\\" in title:
            raise ParameterError(option, f"{title!r}: an AE title has 1 to 16 characters")
    if not args.timeout > 0:
        raise ParameterError("--timeout", "must be > 0 seconds")
    options = film_options(args)
    if args.pattern:
        if args.pattern not in PATTERNS:
            raise ParameterError("--pattern", f"{args.pattern!r} is not one of "
                                              + ", ".join(PATTERNS))
        name, bits = args.pattern, args.bits
        sources = [ImageSource(f"pattern {name}", lambda: pattern_image(name, bits))]
    else:
        sources = [image_source(path, args.bits) for path in args.files]  # checked before sending
    if args.verbose < 2:  # pynetdicom's own log lines would repeat what the report says
        logging.getLogger("pynetdicom").setLevel(
            logging.WARNING if args.verbose else logging.CRITICAL)
    scu = PrintSCU(args.host, args.port, args.called_aet.strip(), args.calling_aet.strip(),
                   timeout=args.timeout)
    result = scu.print(sources, options, fill_boxes=bool(args.pattern),
                       progress=None if args.quiet else progress_for(sys.stderr))
    print(as_json(result) if args.json else as_text(result))
    return result.exit_status
