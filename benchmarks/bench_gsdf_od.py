"""Benchmark: stored 12-bit pixels → optical density for a 14 × 17 inch film at 508 dpi.

Maps a 7112 × 8636 raster of 12-bit values to float32 OD through printserver's pipeline
(``od_lut`` + ``apply_od_lut``, including building the table with the GSDF of PS3.14 §7.2) and
reports the time as a ratio to a bare ``numpy.take`` of the same size measured in the same run.
Aim: ratio ≤ 1.5.

    python benchmarks/bench_gsdf_od.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from printserver.gsdf.pipeline import apply_od_lut, od_lut
from printserver.gsdf.plut import PresentationLUT

ROWS, COLUMNS = 8636, 7112  # 17 × 508 and 14 × 508 pixels


def best_of(repeat: int, func) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best time kept (default 3)")
    args = parser.parse_args()

    rng = np.random.default_rng(2)
    raster = rng.integers(0, 4096, size=(ROWS, COLUMNS), dtype=np.uint16)
    out = np.empty(raster.shape, dtype=np.float32)
    table = np.linspace(3.0, 0.2, 4096, dtype=np.float32)
    plut = PresentationLUT.from_shape("IDENTITY")

    def baseline() -> None:
        np.take(table, raster, out=out)

    def baseline_clip() -> None:
        np.take(table, raster, out=out, mode="clip")

    def ours() -> None:
        lut = od_lut(12, "MONOCHROME2", "NORMAL", plut, 0.20, 3.00, 2000.0, 10.0)
        apply_od_lut(raster, lut, out=out)

    baseline()  # warm caches and page in the output
    t_ours = best_of(args.repeat, ours)
    t_base = best_of(args.repeat, baseline)
    t_clip = best_of(args.repeat, baseline_clip)
    lut_only = best_of(args.repeat, lambda: od_lut(12, "MONOCHROME2", "NORMAL", plut, 0.20, 3.00))
    print(f"raster {COLUMNS} x {ROWS} = {raster.size / 1e6:.1f} Mpixel, 12-bit -> float32 OD")
    print(f"numpy.take baseline : {t_base * 1000:8.1f} ms")
    print(f"numpy.take mode=clip: {t_clip * 1000:8.1f} ms (what apply_od_lut does underneath)")
    print(f"od_lut + apply      : {t_ours * 1000:8.1f} ms (od_lut alone {lut_only * 1000:.2f} ms)")
    print(f"ratio               : {t_ours / t_base:8.2f}  (aim <= 1.5; vs the clip baseline "
          f"{t_ours / t_clip:.2f})")


if __name__ == "__main__":
    main()
