"""``printserver gsdf ...`` sub-commands (placeholder until the calibration core lands)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gsdf", help="PS3.14 GSDF curves and calibration LUTs")
    p.set_defaults(func=lambda args: p.print_help() or 2)
