"""Progress of a print on stderr: a carriage-return progress line on a terminal, else one log line
per image (so that a log file or a CI run keeps a record of every image sent)."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from printserver.scu.images import PrintImage
from printserver.scu.session import Progress

log = logging.getLogger("printserver.scu")

BAR_WIDTH = 30


class LogProgress(Progress):
    """One INFO log line per image sent."""

    def image_sent(self, index: int, total: int, image: PrintImage, film: int,
                   position: int) -> None:
        log.info("image %d/%d sent: film %d position %d, %s (%d x %d, %d-bit, %s)", index, total,
                 film, position, image.source, image.columns, image.rows, image.bits_stored,
                 image.voi)


class BarProgress(Progress):
    """``[#########.........]  12/40 images  18.4 MB  3.1 s`` redrawn in place on ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.nbytes = 0
        self.started = time.monotonic()
        self._drawn = False

    def start(self, total: int) -> None:
        self.total = total
        self._draw(0)

    def image_sent(self, index: int, total: int, image: PrintImage, film: int,
                   position: int) -> None:
        self.total = total
        self.nbytes += image.nbytes
        self._draw(index)

    def _draw(self, done: int) -> None:
        total = max(self.total, 1)
        filled = round(BAR_WIDTH * done / total)
        line = (f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done:>4}/{self.total} images "
                f"{self.nbytes / 1e6:7.1f} MB {time.monotonic() - self.started:6.1f} s")
        self.stream.write(line)
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def progress_for(stream: TextIO | None = None) -> Progress:
    """A bar when ``stream`` (stderr by default) is a terminal, log lines otherwise."""
    stream = stream or sys.stderr
    return BarProgress(stream) if stream.isatty() else LogProgress()
