"""Benchmark: film rendering to PDF (render_film + write_pdf) against a LUT + zlib baseline.

Three cases of issue 4, each on 14INX17IN with the default printer (CUBIC magnification, 2 mm box
gaps, BLACK border):

``4x5-320``   STANDARD\\4,5 at 320 dpi (STANDARD), twenty 512 × 512 12-bit images  (target ≤ 2×)
``4x5-508``   STANDARD\\4,5 at 508 dpi (HIGH), twenty 512 × 512 12-bit images      (target ≤ 2×)
``1x1-508``   STANDARD\\1,1 at 508 dpi, one pre-composed 7112 × 8636 12-bit image (target ≤ 2×,
              peak RSS ≤ 3 × the 16-bit raster, about 370 MB)

The baseline, measured in the same run, is the least any film writer must do for a raster of the
film's size: one ``numpy.take`` through a 4096-entry 8-bit LUT plus ``zlib`` level 1 of the result.
Its raster holds the same kind of content (one film-sized test image) and its LUT is the
film's own stored value → drive value mapping, so both sides compress alike. Each side runs in
its own child process, which reports its best time of ``--repeat`` runs and its peak RSS
(``resource.getrusage``), so that one side's memory never counts against the other.

    python benchmarks/bench_layout.py [--repeat N] [--case NAME ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

log = logging.getLogger("bench_layout")

CASES = {
    # name: (resolution id, display format, image rows, image columns, image count)
    "4x5-320": ("STANDARD", "STANDARD\\4,5", 512, 512, 20),
    "4x5-508": ("HIGH", "STANDARD\\4,5", 512, 512, 20),
    "1x1-508": ("HIGH", "STANDARD\\1,1", 8636, 7112, 1),
}
FILM_PX = {"STANDARD": (5440, 4480), "HIGH": (8636, 7112)}  # rows, columns of 14INX17IN
STRIP = 128


def phantom(rows: int, columns: int, seed: int) -> np.ndarray:
    """A 12-bit test image: a bright ellipse with smooth structure and noise, built in strips."""
    rng = np.random.default_rng(seed)
    out = np.empty((rows, columns), dtype=np.uint16)
    x = np.linspace(-1.0, 1.0, columns, dtype=np.float32)[None, :]
    for r0 in range(0, rows, STRIP):
        r1 = min(r0 + STRIP, rows)
        y = np.linspace(-1.0, 1.0, rows, dtype=np.float32)[r0:r1, None]
        body = (x / 0.8) ** 2 + (y / 0.9) ** 2 < 1.0
        value = 600 + body * (1800 + 600 * np.cos(6 * x) * np.cos(5 * y))
        value += rng.normal(0, 25, size=value.shape).astype(np.float32)
        out[r0:r1] = np.clip(value, 0, 4095)
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def film_drive_lut() -> np.ndarray:
    """Stored 12-bit value → 8-bit drive value as the film and its PDF map it (not timed), so the
    baseline compresses the same bytes as the PDF of a pre-composed film."""
    from printserver.layout.densities import DensityRange, milli_od_lut
    from printserver.layout.device import LightBoxSRGB

    density = DensityRange(0.20, 3.00, 2000.0, 10.0)
    to_od = milli_od_lut(12, "MONOCHROME2", "NORMAL", None, density, np.dtype(np.uint16))[:4096]
    return LightBoxSRGB().drive_lut()[to_od]


def run_baseline(case: str, repeat: int) -> dict:
    resolution, _fmt, rows, columns, count = CASES[case]
    film_rows, film_columns = FILM_PX[resolution]
    raster = phantom(film_rows, film_columns, 1)
    lut = film_drive_lut()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        drive = np.take(lut, raster)
        zlib.compress(drive, 1)
        best = min(best, time.perf_counter() - start)
        del drive
    return {"seconds": best, "peak_rss_mb": peak_rss_mb()}


def run_ours(case: str, repeat: int) -> dict:
    from printserver.config import PrinterConfig
    from printserver.layout import FilmSpec, ImageSpec, render_film, write_pdf

    resolution, fmt, rows, columns, count = CASES[case]
    images = [ImageSpec(i + 1, phantom(rows, columns, i + 1), bits_stored=12)
              for i in range(count)]
    printer = PrinterConfig()
    film = FilmSpec(fmt, film_size_id="14INX17IN", requested_resolution_id=resolution)
    best = float("inf")
    warnings: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            start = time.perf_counter()
            rendered = render_film(film, images, printer)
            write_pdf(Path(tmp) / "film.pdf", [rendered], title=f"bench {case}")
            best = min(best, time.perf_counter() - start)
            warnings = [str(w) for w in rendered.warnings]
            raster_mb = rendered.raster.nbytes / 2 ** 20
            pdf_mb = (Path(tmp) / "film.pdf").stat().st_size / 2 ** 20
            del rendered
    return {"seconds": best, "peak_rss_mb": peak_rss_mb(), "raster_mb": raster_mb,
            "pdf_mb": pdf_mb, "warnings": warnings}


def child(case: str, side: str, repeat: int) -> dict:
    """Run one side of one case in a fresh interpreter and return its report."""
    out = subprocess.run([sys.executable, __file__, "--child", case, side, "--repeat", str(repeat)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs per side, best kept (default 2)")
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="default: all")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "SIDE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, side = args.child
        report = (run_baseline if side == "baseline" else run_ours)(case, args.repeat)
        json.dump(report, sys.stdout)
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for case in args.case or list(CASES):
        base = child(case, "baseline", args.repeat)
        ours = child(case, "ours", args.repeat)
        ratio = ours["seconds"] / base["seconds"]
        rss_ratio = ours["peak_rss_mb"] / ours["raster_mb"]
        log.info("%-8s baseline %6.3f s | render+PDF %6.3f s | ratio %.2f | peak RSS %5.0f MB "
                 "= %.2f x the %.0f MB raster | PDF %.1f MB%s", case, base["seconds"],
                 ours["seconds"], ratio, ours["peak_rss_mb"], rss_ratio, ours["raster_mb"],
                 ours["pdf_mb"], f" | {len(ours['warnings'])} warnings" if ours["warnings"] else "")


if __name__ == "__main__":
    main()
