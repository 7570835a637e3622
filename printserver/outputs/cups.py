"""The ``cups`` output: films printed on a paper printer through a CUPS queue.

CUPS's own client tools do the talking (Debian packages ``cups-client`` and ``cups-ipp-utils``; no
Python binding, which would need the libcups headers to build): ``lpstat`` for the queue's state,
``lp`` to submit, ``ipptool`` (Get-Job-Attributes, RFC 8011 §4.3.4) to follow a job to its end,
``cancel`` to cancel it. They reach the server given by ``output.host`` / ``output.port`` (``-h
host:port``), else the one ``CUPS_SERVER`` or the client configuration names.

What a job becomes
    The films are rendered as for the ``pdf`` output (into ``output.path``, default
    ``data_dir/films``), one copy each: through the printer's measured characteristic curve when
    ``characteristic_file`` is set (a paper printer's step wedge, reflective viewing as PS3.14
    §7.3 / the file's ``lum``/``amb`` say), so that the paper reproduces the film's densities.
    Films of one media size go out as one PDF and one CUPS job (``lp -n COPIES -o collate=true``,
    copies collated 1 2 3, 1 2 3 as PS3.4 H.4.1.2.3 asks); a job mixing film sizes is sent as one
    CUPS job per film.
Media
    Film Size ID → ``-o media=``: ``A4``, ``A3``, ``Letter`` (8_5INX11IN), ``Tabloid``
    (11INX17IN), any other as a custom size ``Custom.WxHmm`` (e.g. 14INX17IN →
    ``Custom.355.6x431.8mm``); ``output.media`` overrides per Film Size ID. Landscape films are
    landscape pages on that (portrait) media; CUPS rotates them.
Exactly once
    Each CUPS job is titled ``printserver AE job JOB_ID`` (plus ``film N`` when sent per film).
    Before submitting, the queue's jobs are listed (IPP Get-Jobs): a job of that title that was
    not canceled or aborted is taken as already sent (a worker that died between ``lp`` and
    recording the CUPS job id), so a retried job is never printed twice.
Following
    ``lp`` answers the CUPS job id (``paper-12``), recorded on the job (PRINTING); the worker asks
    :meth:`CupsOutput.follow` until the job is completed (DONE), canceled (CANCELLED) or aborted
    (FAILED). Without ``ipptool`` a job that left ``lpstat -W not-completed`` counts as completed.
Status (PS3.3 C.13.9.1 Printer Status Info)
    queue stopped (``cupsdisable``) or rejecting jobs (``cupsreject``) → FAILURE / PRINTER
    OFFLINE; queue missing → FAILURE / CHECK PRINTER; CUPS server unreachable → FAILURE / PRINTER
    DOWN. Each is :class:`OutputUnavailable` at delivery, so the job waits and is retried.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from printserver.config import Config, PrinterConfig
from printserver.layout.film_layout import plan_film
from printserver.layout.job_render import PixelLoader, RenderedJob, film_spec
from printserver.layout.status import LayoutError
from printserver.outputs.base import (DeliveryState, DeliveryStatus, DeviceStatus, Output,
                                      OutputError, OutputUnavailable)
from printserver.outputs.pdf_folder import PdfFolderOutput
from printserver.vocabulary import PrinterStatusInfo

log = logging.getLogger(__name__)

#: Film Size IDs (PS3.3 C.13.3) with a standard media name (PWG 5101.1 / CUPS PPD names)
NAMED_MEDIA = {"A4": "A4", "A3": "A3", "8_5INX11IN": "Letter", "11INX17IN": "Tabloid"}
DEFAULT_PORT = 631
_REQUEST_ID = re.compile(r"request id is (\S+-\d+)")
#: IPP job-state (RFC 8011 §5.3.7) → where the delivery stands
_JOB_STATES = {"pending": DeliveryState.PENDING, "pending-held": DeliveryState.PENDING,
               "processing": DeliveryState.PENDING, "processing-stopped": DeliveryState.PENDING,
               "canceled": DeliveryState.CANCELLED, "aborted": DeliveryState.FAILED,
               "completed": DeliveryState.DONE}
#: ipptool test: every job of the queue with its name and state (variable uri)
_GET_JOBS = """{
 NAME "Get-Jobs"
 OPERATION Get-Jobs
 GROUP operation-attributes-tag
 ATTR charset attributes-charset utf-8
 ATTR naturalLanguage attributes-natural-language en
 ATTR uri printer-uri $uri
 ATTR name requesting-user-name $user
 ATTR keyword which-jobs all
 ATTR keyword requested-attributes job-id,job-name,job-state
 STATUS successful-ok
 DISPLAY job-id
 DISPLAY job-name
 DISPLAY job-state
}
"""
#: ipptool test: the state of one job (variables uri, job_id)
_GET_JOB = """{
 NAME "Get-Job-Attributes"
 OPERATION Get-Job-Attributes
 GROUP operation-attributes-tag
 ATTR charset attributes-charset utf-8
 ATTR naturalLanguage attributes-natural-language en
 ATTR uri printer-uri $uri
 ATTR integer job-id $job_id
 ATTR name requesting-user-name $user
 ATTR keyword requested-attributes job-state,job-state-reasons,job-printer-state-message
 STATUS successful-ok
 DISPLAY job-state
 DISPLAY job-state-reasons
 DISPLAY job-printer-state-message
}
"""


def media_for(film_size_id: str, width_mm: float, height_mm: float,
              overrides: Mapping[str, str] | None = None) -> str:
    """The CUPS media name of a film (``-o media=``).

    Parameters
    ----------
    film_size_id
        Film Size ID (2010,0050).
    width_mm, height_mm
        The film's size (either orientation; custom media are named portrait, short side first).
    overrides
        ``output.media`` of the printer: Film Size ID → media name.
    """
    if overrides and film_size_id in overrides:
        return overrides[film_size_id]
    if film_size_id in NAMED_MEDIA:
        return NAMED_MEDIA[film_size_id]
    short, long = sorted((width_mm, height_mm))
    return f"Custom.{short:g}x{long:g}mm"


class CupsOutput(Output):
    """Films printed through a CUPS queue (see the module docstring).

    Parameters
    ----------
    printer
        The printer whose ``output`` (kind ``cups``) names the queue, server, media overrides,
        ``lp -o`` options and the timeout of each command.
    config
        For the data folder (films, relative characteristic files).
    """

    kind = "cups"

    def __init__(self, printer: PrinterConfig, config: Config) -> None:
        out = printer.output
        if not out.queue.strip():
            raise OutputError(f"printer {printer.ae_title}: output kind 'cups' needs "
                              "output.queue (the CUPS queue name)")
        self.printer = printer
        self.queue = out.queue.strip()
        self.server = f"{out.host}:{out.port or DEFAULT_PORT}" if out.host else ""
        self.timeout = float(getattr(out, "timeout", 30.0) or 30.0)
        self.config = config

    # -- the tools ------------------------------------------------------------------------------
    def _run(self, tool: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run a CUPS client tool against our server (C locale, so that answers can be parsed)."""
        command = [tool, *(["-h", self.server] if self.server and tool != "ipptool" else []),
                   *args]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=self.timeout,
                                  env=env, input=stdin)
        except FileNotFoundError:
            raise OutputUnavailable(f"{tool} not found: install the CUPS client tools "
                                    "(cups-client, cups-ipp-utils)",
                                    PrinterStatusInfo.CHECK_PRINTER) from None
        except subprocess.TimeoutExpired:
            raise OutputUnavailable(f"CUPS server {self._where()}: {tool} got no answer in "
                                    f"{self.timeout:g} s", PrinterStatusInfo.PRINTER_DOWN) from None

    def _where(self) -> str:
        return self.server or os.environ.get("CUPS_SERVER", "") or "(default)"

    def _server_down(self) -> OutputUnavailable | None:
        """PRINTER DOWN when the scheduler does not answer (lpstat says 'no such queue' then)."""
        answer = self._run("lpstat", "-r")
        if "scheduler is running" in answer.stdout:
            return None
        return OutputUnavailable(f"CUPS server {self._where()} is not reachable",
                                 PrinterStatusInfo.PRINTER_DOWN)

    # -- Output ---------------------------------------------------------------------------------
    def check(self) -> DeviceStatus:
        """The queue's state: NORMAL, or FAILURE with PRINTER OFFLINE / CHECK PRINTER / DOWN."""
        try:
            self._check_queue()
        except OutputUnavailable as exc:
            return DeviceStatus.unavailable(exc)
        return DeviceStatus()

    def _check_queue(self) -> None:
        answer = self._run("lpstat", "-p", self.queue, "-a", self.queue)
        if answer.returncode != 0 or not answer.stdout.strip():
            raise self._server_down() or OutputUnavailable(
                f"CUPS server {self._where()} has no queue {self.queue!r}",
                PrinterStatusInfo.CHECK_PRINTER)
        lines = answer.stdout.splitlines()
        for n, line in enumerate(lines):
            reason = lines[n + 1].strip() if n + 1 < len(lines) and lines[n + 1][:1] in (
                "\t", " ") else ""
            if line.startswith(f"printer {self.queue} disabled"):
                raise OutputUnavailable(f"CUPS queue {self.queue} is stopped" + (
                    f": {reason}" if reason else ""), PrinterStatusInfo.PRINTER_OFFLINE)
            if line.startswith(f"{self.queue} not accepting"):
                raise OutputUnavailable(f"CUPS queue {self.queue} rejects jobs" + (
                    f": {reason}" if reason else ""), PrinterStatusInfo.PRINTER_OFFLINE)

    def deliver(self, manifest: Mapping[str, Any], load: PixelLoader) -> RenderedJob:
        """Check the queue, render the films (one copy) and submit them with ``lp``.

        Returns the rendered job with ``references`` = the CUPS job ids.

        Raises
        ------
        OutputUnavailable
            The queue is stopped, rejecting or missing, or the server is down (before anything
            was submitted: nothing is printed twice when the job is retried).
        """
        self._check_queue()
        groups = self._media_groups(manifest)
        per_film = len(groups) > 1
        template = ("{printer}_{job_id}_film{film}.pdf" if per_film else "{printer}_{job_id}.pdf")
        renderer = PdfFolderOutput(dataclasses.replace(self.printer, output=dataclasses.replace(
            self.printer.output, filename_template=template)), self.config)
        rendered = renderer.deliver({**manifest, "copies": 1}, load)
        copies = max(1, int(manifest.get("copies", 1) or 1))
        title = f"printserver {self.printer.ae_title} job {manifest.get('job_id', '')}"
        sent = self._sent_titles()
        references: list[str] = []
        try:
            for media, films in groups:
                files = sorted({p for f in rendered.films if f.film in films for p in f.pdf_files})
                name = f"{title} film {min(films)}" if per_film else title
                for path in files:
                    if name in sent:
                        log.warning("CUPS job %s titled %r already exists: not sent again",
                                    sent[name], name)
                        references.append(sent[name])
                    else:
                        references.append(self._submit(path, media, copies, name))
        except OutputError:
            if references:  # never leave half a job printing: the retry sends all of it
                self.cancel(references)
            raise
        log.info("job %s: sent to CUPS queue %s as %s (%d cop%s)", manifest.get("job_id"),
                 self.queue, " ".join(references), copies, "y" if copies == 1 else "ies")
        return dataclasses.replace(rendered, references=tuple(references),
                                   delivery=(*rendered.delivery,
                                             f"CUPS {self.queue}: {' '.join(references)}"))

    def _media_groups(self, manifest: Mapping[str, Any]) -> list[tuple[str, set[int]]]:
        """Consecutive films of the same media: [(media, {film numbers})]."""
        groups: list[tuple[str, set[int]]] = []
        try:
            for number, entry in enumerate(manifest["films"], start=1):
                spec = film_spec(entry, manifest)
                geometry = plan_film(spec, self.printer).geometry
                size_id = spec.film_size_id or self.printer.default_film_size
                media = media_for(size_id, geometry.width_mm, geometry.height_mm,
                                  self.printer.output.media)
                if groups and groups[-1][0] == media:
                    groups[-1][1].add(number)
                else:
                    groups.append((media, {number}))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, LayoutError):
                raise
            raise LayoutError(f"job manifest: {type(exc).__name__}: {exc}") from exc
        return groups

    def _ipp(self, test: str, *variables: str) -> subprocess.CompletedProcess:
        host = self.server or os.environ.get("CUPS_SERVER", "")
        if not host or host.startswith("/"):
            host = f"localhost:{DEFAULT_PORT}"
        args = [a for v in variables for a in ("-d", v)]
        return self._run("ipptool", "-T", f"{self.timeout:g}", "-c", *args,
                         f"ipp://{host}/printers/{self.queue}", "/dev/stdin", stdin=test)

    def _sent_titles(self) -> dict[str, str]:
        """Title → CUPS job id of the queue's jobs that were not canceled or aborted."""
        if shutil.which("ipptool") is None:
            return {}
        answer = self._ipp(_GET_JOBS)
        if answer.returncode != 0:
            raise self._server_down() or OutputUnavailable(
                f"CUPS queue {self.queue}: listing its jobs failed: "
                f"{(answer.stderr or answer.stdout).strip()[:200]}", PrinterStatusInfo.CHECK_PRINTER)
        sent = {}
        for row in list(csv.reader(io.StringIO(answer.stdout)))[1:]:
            if len(row) >= 3 and row[2] not in ("canceled", "aborted"):
                sent[row[1]] = f"{self.queue}-{row[0]}"
        return sent

    def _submit(self, path: Path, media: str, copies: int, title: str) -> str:
        options = [f"media={media}", "collate=true",
                   *(f"{k}={v}" for k, v in self.printer.output.options.items())]
        args = ["-d", self.queue, "-n", str(copies), "-t", title]
        for option in options:
            args += ["-o", option]
        answer = self._run("lp", *args, "--", str(path))
        match = _REQUEST_ID.search(answer.stdout)
        if answer.returncode != 0 or match is None:
            problem = (answer.stderr or answer.stdout).strip()
            self._check_queue()  # a stopped / missing queue or a down server: unavailable
            raise OutputError(f"CUPS queue {self.queue}: lp {path.name}: {problem}")
        return match.group(1)

    def follow(self, references: Sequence[str]) -> DeliveryStatus:
        """Where the CUPS jobs stand: DONE when all completed, else the first that is not."""
        states = [self._job_state(ref) for ref in references]
        for wanted in (DeliveryState.FAILED, DeliveryState.CANCELLED, DeliveryState.PENDING):
            for state in states:
                if state.state is wanted:
                    return state
        return DeliveryStatus(DeliveryState.DONE, "; ".join(s.message for s in states
                                                             if s.message))

    def _job_state(self, reference: str) -> DeliveryStatus:
        if shutil.which("ipptool") is None:
            return self._job_state_lpstat(reference)
        job_id = reference.rsplit("-", 1)[-1]
        answer = self._ipp(_GET_JOB, f"job_id={job_id}")
        rows = [r for r in csv.reader(io.StringIO(answer.stdout)) if r]
        if answer.returncode != 0 or len(rows) < 2:
            problem = (answer.stderr or answer.stdout).strip()
            if "does not exist" in problem or "not-found" in problem:
                return DeliveryStatus(DeliveryState.FAILED, f"CUPS job {reference} is gone")
            raise self._server_down() or OutputUnavailable(
                f"CUPS job {reference}: {problem[:200]}", PrinterStatusInfo.CHECK_PRINTER)
        state, reasons, message = (rows[1] + ["", ""])[:3]
        detail = f"CUPS job {reference} {state}" + (f" ({reasons})" if reasons and reasons != "none"
                                                    else "") + (f": {message}" if message else "")
        return DeliveryStatus(_JOB_STATES.get(state, DeliveryState.PENDING), detail)

    def _job_state_lpstat(self, reference: str) -> DeliveryStatus:
        answer = self._run("lpstat", "-W", "not-completed", "-o", self.queue)
        if answer.returncode != 0:
            raise self._server_down() or OutputUnavailable(
                f"CUPS queue {self.queue}: {answer.stderr.strip()}", PrinterStatusInfo.CHECK_PRINTER)
        pending = {line.split()[0] for line in answer.stdout.splitlines() if line.strip()}
        if reference in pending:
            return DeliveryStatus(DeliveryState.PENDING, f"CUPS job {reference} not completed")
        return DeliveryStatus(DeliveryState.DONE, f"CUPS job {reference} completed")

    def cancel(self, references: Sequence[str]) -> None:
        """``cancel`` each CUPS job (one already finished is left as it is)."""
        for reference in references:
            answer = self._run("cancel", reference)
            problem = (answer.stderr or answer.stdout).strip()
            if answer.returncode != 0 and "already" not in problem:
                down = self._server_down()
                if down is not None:
                    raise down
                log.warning("CUPS: cancel %s: %s", reference, problem)
            else:
                log.info("CUPS job %s cancelled", reference)
