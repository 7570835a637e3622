"""One print association as a Print SCU: the PS3.4 Annex H message flow, every status recorded.

:class:`PrintSCU` proposes the Basic Grayscale Print Management Meta SOP Class (plus Print Job, and
Presentation LUT / Basic Annotation Box when asked for) with Explicit and Implicit VR Little Endian
only (pitfall P13: image pixels are native little endian), and then plays the flow of the
reference digest (Part 1, §5), as DCMTK's ``dcmprscu`` does:

1. N-GET Printer Status and Printer Status Info (the well-known instance, PS3.4 H.4.6.2);
2. N-CREATE Basic Film Session (the SCP assigns the UID; pitfall P7: it is read from the
   response *command set*, captured with ``evt.EVT_DIMSE_RECV``);
3. [N-CREATE Presentation LUT with Presentation LUT Shape IDENTITY or LIN OD (H.4.9)];
4. per film: N-CREATE Basic Film Box (Image Display Format, Referenced Film Session Sequence,
   film options, [Referenced Presentation LUT Sequence], [Annotation Display Format ID]); the
   response lists the image boxes, item i being position i; N-SET Basic Grayscale Image Box per
   position; [N-SET Basic Annotation Box 1 with the label]; N-ACTION Print on the film box and
   N-DELETE it (or, with ``session_print``, all film boxes first and one N-ACTION on the
   session, which prints them all, H.4.1.2.4);
5. N-DELETE Basic Film Session, [N-DELETE Presentation LUT], A-RELEASE.

Images fill the boxes in order; more images than boxes make more film boxes. A failure status
stops the print there: nothing more is created or printed, the film session (and PLUT) are
deleted so that the printer discards the unprinted films, and the association is released.
N-EVENT-REPORTs from the printer (Print Job, Printer) are recorded and answered with Success
(pitfall P2: the handler returns ``(status, None)``). Data sets are never empty (pitfall P8).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (BasicAnnotationBox, BasicFilmBox, BasicFilmSession,
                                  BasicGrayscaleImageBox, BasicGrayscalePrintManagementMeta,
                                  PresentationLUT, Printer, PrinterInstance, PrintJob)

from printserver.errors import PrintserverError
from printserver.scu.images import ImageSource, PrintImage
from printserver.scu.peer import AssociationError  # noqa: F401  (callers catch it from here)
from printserver.scu.peer import Peer, connect
from printserver.scu.reactor_gate import check_pynetdicom
from printserver.scu.result import DimseResponse, EventReport, PrintResult

log = logging.getLogger(__name__)

TRANSFER_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
#: classes that travel under the meta SOP class's presentation context (PS3.4 H.3)
_META_MEMBERS = {str(BasicFilmSession), str(BasicFilmBox), str(BasicGrayscaleImageBox),
                 str(Printer)}
#: Printer Status (2110,0010) and Printer Status Info (2110,0020), asked for by N-GET Printer
PRINTER_STATUS_TAGS = [Tag(0x21100010), Tag(0x21100020)]
#: (2100,0500) Referenced Print Job Sequence of the N-ACTION reply (pitfall P3)
_REFERENCED_PRINT_JOB = 0x21000500


class _Stop(Exception):
    """Internal: end the print flow here (a failure status or no response)."""


@dataclass(frozen=True)
class FilmOptions:
    """Film session and film box attributes (PS3.4 Tables H.4-2 and H.4-6).

    ``None`` leaves an attribute out, so that the printer applies its default (U/M usage).
    """

    image_display_format: str = "STANDARD\\1,1"
    film_size_id: str | None = None
    film_orientation: str | None = None
    number_of_copies: int = 1
    medium_type: str | None = None
    magnification_type: str | None = None
    min_density: int | None = None
    max_density: int | None = None
    #: IDENTITY or LIN OD: a Presentation LUT is created and referenced by every film box
    presentation_lut_shape: str | None = None
    #: Film Session Label (2000,0050); also the text of annotation box 1 with an annotation format
    film_session_label: str | None = None
    #: Annotation Display Format ID (2010,0030): printer-defined, e.g. LABEL on printserver
    annotation_display_format_id: str | None = None
    #: Configuration Information (2010,0150), ST: printer-specific text, sent unchanged
    configuration_information: str | None = None
    #: print with one Film Session N-ACTION instead of one Film Box N-ACTION per film
    session_print: bool = False

    def film_session(self) -> Dataset:
        """The Film Session N-CREATE attribute list (never empty: Number of Copies is sent)."""
        ds = Dataset()
        ds.NumberOfCopies = str(self.number_of_copies)
        if self.medium_type:
            ds.MediumType = self.medium_type
        if self.film_session_label:
            ds.FilmSessionLabel = self.film_session_label
        return ds

    def film_box(self, session_uid: str, plut_uid: str | None) -> Dataset:
        """The Film Box N-CREATE attribute list."""
        ds = Dataset()
        ds.ImageDisplayFormat = self.image_display_format
        ds.ReferencedFilmSessionSequence = [_reference(BasicFilmSession, session_uid)]
        if self.film_orientation:
            ds.FilmOrientation = self.film_orientation
        if self.film_size_id:
            ds.FilmSizeID = self.film_size_id
        if self.magnification_type:
            ds.MagnificationType = self.magnification_type
        if self.min_density is not None:
            ds.MinDensity = self.min_density
        if self.max_density is not None:
            ds.MaxDensity = self.max_density
        if self.annotation_display_format_id:
            ds.AnnotationDisplayFormatID = self.annotation_display_format_id
        if self.configuration_information:
            ds.ConfigurationInformation = self.configuration_information
        if plut_uid:
            ds.ReferencedPresentationLUTSequence = [_reference(PresentationLUT, plut_uid)]
        return ds


def _reference(class_uid: str, instance_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = class_uid
    item.ReferencedSOPInstanceUID = instance_uid
    return item


def image_box(position: int, image: PrintImage) -> Dataset:
    """The Basic Grayscale Image Box N-SET attribute list (PS3.4 Table H.4-10): Image Box
    Position and one Basic Grayscale Image Sequence item with the pixel module, MONOCHROME2,
    12 bits in 16 (Pixel Data OW, little endian) or 8 bits in 8 (OB, padded to even length);
    the image's Configuration Information when it has one."""
    item = Dataset()
    item.SamplesPerPixel = 1
    item.PhotometricInterpretation = "MONOCHROME2"
    item.Rows, item.Columns = image.rows, image.columns
    if image.aspect_ratio is not None:
        item.PixelAspectRatio = [str(v) for v in image.aspect_ratio]
    if image.bits_stored == 12:
        item.BitsAllocated, item.BitsStored, item.HighBit = 16, 12, 11
        data = image.pixels.astype("<u2").tobytes()
        vr = "OW"
    else:
        item.BitsAllocated, item.BitsStored, item.HighBit = 8, 8, 7
        data = image.pixels.astype("u1").tobytes()
        if len(data) % 2:
            data += b"\x00"
        vr = "OB"
    item.PixelRepresentation = 0
    item.add_new(0x7FE00010, vr, data)
    ds = Dataset()
    ds.ImageBoxPosition = position
    ds.BasicGrayscaleImageSequence = [item]
    if image.configuration_information:
        ds.ConfigurationInformation = image.configuration_information
    return ds


class Progress:
    """Receives one call per image sent; :mod:`printserver.scu.progress` draws it."""

    def start(self, total: int) -> None:  # pragma: no cover - interface
        """The number of images to send is known (or grew: a pattern fills every box)."""

    def image_sent(self, index: int, total: int, image: PrintImage, film: int,
                   position: int) -> None:  # pragma: no cover - interface
        """Image ``index`` (1-based) of ``total`` went out."""

    def finish(self) -> None:  # pragma: no cover - interface
        """The sending is over (successfully or not)."""


class PrintSCU:
    """A Print SCU for one association to one printer.

    Parameters
    ----------
    host, port : str, int
        The printer.
    called_aet : str
        The printer's AE title.
    calling_aet : str
        Ours.
    timeout : float
        Seconds for connecting, association negotiation and each response.
    kind : str
        What the printer is, for messages (e.g. "film printer"; :attr:`Peer.kind`).
    tls : ssl.SSLContext, optional
        Associate over TLS with this client context (PS3.15 B).

    Raises
    ------
    PynetdicomIncompatible
        The installed pynetdicom lacks what :mod:`printserver.scu.reactor_gate` relies on.
    """

    def __init__(self, host: str, port: int, called_aet: str, calling_aet: str = "PRINTSCU",
                 timeout: float = 30.0, kind: str = "",
                 tls: ssl.SSLContext | None = None) -> None:
        check_pynetdicom()
        self.peer = Peer(host, port, called_aet, calling_aet, timeout, kind, tls)
        self.host, self.port = host, port
        self.called_aet, self.calling_aet = called_aet, calling_aet
        self.timeout = timeout
        self._commands: dict[int, Dataset] = {}
        self._lock = threading.Lock()
        self._msg_id = 0
        self._result: PrintResult | None = None
        self._assoc: Association | None = None
        self._film_count = 0
        self._silent = False  # True once a request went unanswered

    # -- pynetdicom plumbing ------------------------------------------------------------------
    def _on_dimse_recv(self, event: evt.Event) -> None:
        """Keep each response's command set by Message ID Being Responded To (pitfall P7)."""
        command = event.message.command_set
        answered = command.get("MessageIDBeingRespondedTo")
        if answered is not None:
            with self._lock:
                self._commands[int(answered)] = command

    def _on_event_report(self, event: evt.Event) -> tuple[int, None]:
        """Record a Print Job / Printer N-EVENT-REPORT and answer Success (pitfall P2)."""
        rq = event.request
        info: dict[str, str] = {}
        if rq.EventInformation is not None:
            try:
                info = {e.keyword or str(e.tag): str(e.value) for e in event.event_information
                        if e.VR != "SQ"}
            except (ValueError, TypeError, AttributeError) as exc:
                log.warning("undecodable N-EVENT-REPORT information: %s", exc)
        report = EventReport(str(rq.AffectedSOPClassUID), str(rq.AffectedSOPInstanceUID),
                             int(rq.EventTypeID), info)
        if self._result is not None:
            with self._lock:
                self._result.events.append(report)
        log.debug("event %s %s %s", report.to_dict()["sop_class"], report.event,
                  " ".join(f"{k}={v}" for k, v in info.items()))
        return 0x0000, None

    def _associate(self, want_plut: bool, want_annotation: bool) -> Association:
        contexts = [build_context(BasicGrayscalePrintManagementMeta, TRANSFER_SYNTAXES),
                    build_context(PrintJob, TRANSFER_SYNTAXES)]
        required = {BasicGrayscalePrintManagementMeta: "Basic Grayscale Print Management Meta"}
        if want_plut:
            contexts.append(build_context(PresentationLUT, TRANSFER_SYNTAXES))
            required[PresentationLUT] = "Presentation LUT (--plut)"
        if want_annotation:
            contexts.append(build_context(BasicAnnotationBox, TRANSFER_SYNTAXES))
            required[BasicAnnotationBox] = "Basic Annotation Box (--annotation-format)"
        handlers = [(evt.EVT_DIMSE_RECV, self._on_dimse_recv),
                    (evt.EVT_N_EVENT_REPORT, self._on_event_report)]
        return connect(self.peer, contexts, handlers, required)

    def _send(self, operation: str, class_uid: str, instance_uid: str | None,
              send: Callable[[int], tuple[Dataset | None, Dataset | None]],
              context: str = "") -> tuple[DimseResponse, Dataset | None]:
        """Send one request, record the response; raise :class:`_Stop` unless it succeeded."""
        assert self._result is not None and self._assoc is not None
        if self._silent or not self._assoc.is_established:
            raise _Stop()
        self._msg_id += 1
        msg_id = self._msg_id
        started = time.monotonic()
        status_ds, reply = send(msg_id)
        with self._lock:
            command = self._commands.pop(msg_id, None)
        code = None
        if status_ds is not None and "Status" in status_ds:
            code = int(status_ds.Status)
        source = command if command is not None else (status_ds or Dataset())
        uid = instance_uid or (str(source.AffectedSOPInstanceUID)
                               if source.get("AffectedSOPInstanceUID") else None)
        if uid is None and reply is not None and reply.get("SOPInstanceUID"):
            uid = str(reply.SOPInstanceUID)  # SCPs that echo it in the attribute list only
        offending = [_tag(t) for key in ("OffendingElement", "AttributeIdentifierList")
                     for t in _as_list(source.get(key))]
        # an Error Comment holding a backslash arrives as several LO values: put it back together
        comment = "\\".join(str(v) for v in _as_list(source.get("ErrorComment")))
        response = DimseResponse(operation, str(class_uid), uid, code, comment, offending, context)
        self._result.responses.append(response)
        log.debug("%s %s %s: %s", operation, response.sop_class, context, response.meaning)
        if code is None:
            # the printer aborted (or pynetdicom did, after the timeout): send nothing more
            self._silent = True
            waited = time.monotonic() - started
            self._result.problem = (f"no response to {operation} {response.sop_class}: "
                                    + (f"timed out after {waited:.0f} s"
                                       if waited >= self.timeout else "association aborted"))
            raise _Stop()
        if not response.ok:
            raise _Stop()
        return response, reply

    def _meta(self, class_uid: str) -> str | None:
        return BasicGrayscalePrintManagementMeta if str(class_uid) in _META_MEMBERS else None

    # -- the print ------------------------------------------------------------------------------
    def print(self, sources: Sequence[ImageSource], options: FilmOptions,
              fill_boxes: bool = False, progress: Progress | None = None) -> PrintResult:
        """Print ``sources`` and return every status the printer answered.

        Parameters
        ----------
        sources : sequence of ImageSource
            Images in box order; decoded one by one just before they are sent.
        options : FilmOptions
        fill_boxes : bool
            Send the single source to every box of one film (test patterns).
        progress : Progress, optional

        Raises
        ------
        AssociationError
            The printer is unreachable, rejected the association, or lacks a needed context.
        printserver.scu.images.ImageError
            An image could not be decoded (after the film session was deleted and the
            association released).
        """
        if not sources:
            raise PrintserverError("nothing to print")
        want_annotation = bool(options.annotation_display_format_id)
        self._assoc = assoc = self._associate(bool(options.presentation_lut_shape),
                                              want_annotation)
        result = self._result = PrintResult(self.host, self.port, self.called_aet,
                                            self.calling_aet)
        self._silent, self._film_count = False, 0
        progress = progress or Progress()
        session_uid = plut_uid = None
        try:
            self._printer_status()
            _r, _ = self._send(
                "N-CREATE", BasicFilmSession, None,
                lambda m: assoc.send_n_create(options.film_session(), BasicFilmSession, None,
                                              msg_id=m, meta_uid=self._meta(BasicFilmSession)),
                "film session")
            session_uid = _r.instance_uid
            if not session_uid:
                result.problem = "the printer did not return the Film Session's instance UID"
                raise _Stop()
            if options.presentation_lut_shape:
                plut = Dataset()
                plut.PresentationLUTShape = options.presentation_lut_shape
                _r, _ = self._send("N-CREATE", PresentationLUT, None,
                                   lambda m: assoc.send_n_create(plut, PresentationLUT, None,
                                                                 msg_id=m),
                                   options.presentation_lut_shape)
                plut_uid = _r.instance_uid
                if not plut_uid:
                    result.problem = "the printer did not return the Presentation LUT's UID"
                    raise _Stop()
            self._films(sources, options, session_uid, plut_uid, fill_boxes, progress)
            if options.session_print:
                _r, reply = self._send(
                    "N-ACTION", BasicFilmSession, session_uid,
                    lambda m: assoc.send_n_action(None, 1, BasicFilmSession, session_uid,
                                                  msg_id=m, meta_uid=self._meta(BasicFilmSession)),
                    "print session")
                result.films_printed = self._film_count
                self._print_jobs(reply)
        except _Stop:
            pass
        finally:
            progress.finish()
            self._clean_up(session_uid, plut_uid)
        return result

    def _printer_status(self) -> None:
        """N-GET Printer (PS3.4 H.4.6.2): Printer Status and Printer Status Info.

        Both are U/M (Table H.4-17), so every printer answers them; an empty list ("all") would
        also give the name and model, but DCMTK's dcmprscp refuses any other attribute (0105)
        and pynetdicom-based SCPs log a traceback for an empty list. A failure is recorded and
        the print goes on (the printer may still take it)."""
        assert self._result is not None and self._assoc is not None
        assoc = self._assoc
        try:
            _r, reply = self._send(
                "N-GET", Printer, PrinterInstance,
                lambda m: assoc.send_n_get(PRINTER_STATUS_TAGS, Printer, PrinterInstance, msg_id=m,
                                           meta_uid=self._meta(Printer)), "printer status")
        except _Stop:
            if self._result.problem:
                raise
            return
        if reply is not None:
            self._result.printer_status = str(reply.get("PrinterStatus", "") or "")
            self._result.printer_status_info = str(reply.get("PrinterStatusInfo", "") or "")
            self._result.printer_name = str(reply.get("PrinterName", "") or "")
            _r.context = f"printer status {self._result.printer_status or '?'}"
            if self._result.printer_status_info:
                _r.context += f" ({self._result.printer_status_info})"

    def _films(self, sources: Sequence[ImageSource], options: FilmOptions, session_uid: str,
               plut_uid: str | None, fill_boxes: bool, progress: Progress) -> None:
        assert self._result is not None and self._assoc is not None
        assoc, result = self._assoc, self._result
        total = len(sources)
        progress.start(total)
        remaining = list(sources)
        self._film_count = 0
        sent = 0
        while remaining:
            film = self._film_count + 1
            fb, reply = self._send(
                "N-CREATE", BasicFilmBox, None,
                lambda m: assoc.send_n_create(options.film_box(session_uid, plut_uid),
                                              BasicFilmBox, None, msg_id=m,
                                              meta_uid=self._meta(BasicFilmBox)),
                f"film {film}")
            self._film_count = film
            boxes = [str(i.ReferencedSOPInstanceUID)
                     for i in (reply.get("ReferencedImageBoxSequence") or [])] if reply else []
            if not boxes or not fb.instance_uid:
                result.problem = (f"film {film}: the Film Box N-CREATE response lists no image "
                                  "boxes" if not boxes else
                                  f"film {film}: the printer did not return the Film Box UID")
                raise _Stop()
            if fill_boxes:
                chunk, remaining = [remaining[0]] * len(boxes), []
                total = len(boxes)
                progress.start(total)
            else:
                chunk, remaining = remaining[:len(boxes)], remaining[len(boxes):]
            for position, (box_uid, source) in enumerate(zip(boxes, chunk), start=1):
                image = source.load()
                self._send("N-SET", BasicGrayscaleImageBox, box_uid,
                           lambda m, p=position, u=box_uid, i=image: assoc.send_n_set(
                               image_box(p, i), BasicGrayscaleImageBox, u, msg_id=m,
                               meta_uid=self._meta(BasicGrayscaleImageBox)),
                           f"film {film}, position {position}, {source.name}")
                sent += 1
                result.images_sent = sent
                progress.image_sent(sent, total, image, film, position)
            self._annotate(reply, options, film)
            if not options.session_print:
                _r, action_reply = self._send(
                    "N-ACTION", BasicFilmBox, fb.instance_uid,
                    lambda m, u=fb.instance_uid: assoc.send_n_action(
                        None, 1, BasicFilmBox, u, msg_id=m, meta_uid=self._meta(BasicFilmBox)),
                    f"print film {film}")
                result.films_printed += 1
                self._print_jobs(action_reply)
                self._send("N-DELETE", BasicFilmBox, fb.instance_uid,
                           lambda m, u=fb.instance_uid: (assoc.send_n_delete(
                               BasicFilmBox, u, msg_id=m, meta_uid=self._meta(BasicFilmBox)),
                               None), f"film {film}")

    def _annotate(self, film_box_reply: Dataset, options: FilmOptions, film: int) -> None:
        """N-SET the first Basic Annotation Box with the label (PS3.4 H.4.4), when the printer
        created annotation boxes for the requested Annotation Display Format ID."""
        if not options.annotation_display_format_id or not options.film_session_label:
            return
        assert self._assoc is not None
        assoc = self._assoc
        items = film_box_reply.get("ReferencedBasicAnnotationBoxSequence") or []
        if not items:
            log.warning("film %d: the printer created no annotation box", film)
            return
        uid = str(items[0].ReferencedSOPInstanceUID)
        ds = Dataset()
        ds.AnnotationPosition = 1
        ds.TextString = options.film_session_label[:64]
        self._send("N-SET", BasicAnnotationBox, uid,
                   lambda m: assoc.send_n_set(ds, BasicAnnotationBox, uid, msg_id=m),
                   f"film {film}, annotation 1")

    def _print_jobs(self, action_reply: Dataset | None) -> None:
        """Print Job UIDs of an N-ACTION reply ((2100,0500), PS3.4 H.4.1.2.4.1)."""
        if action_reply is None or _REFERENCED_PRINT_JOB not in action_reply:
            return
        assert self._result is not None
        for item in action_reply[_REFERENCED_PRINT_JOB].value or []:
            if item.get("ReferencedSOPInstanceUID"):
                self._result.print_job_uids.append(str(item.ReferencedSOPInstanceUID))

    def _clean_up(self, session_uid: str | None, plut_uid: str | None) -> None:
        """N-DELETE the film session (and its unprinted films) and the PLUT, then release."""
        assoc = self._assoc
        if assoc is None:
            return
        deletes = []
        if session_uid:
            deletes.append((BasicFilmSession, session_uid, "film session"))
        if plut_uid:  # after the session: a PLUT still referenced by a film box may be kept
            deletes.append((PresentationLUT, plut_uid, "presentation LUT"))
        try:
            for class_uid, uid, what in deletes:
                try:
                    self._send("N-DELETE", class_uid, uid,
                               lambda m, c=class_uid, u=uid: (assoc.send_n_delete(
                                   c, u, msg_id=m, meta_uid=self._meta(c)), None), what)
                except _Stop:
                    continue
        finally:
            if assoc.is_established and not self._silent:
                assoc.release()
            elif assoc.is_established:
                assoc.abort()
            elif self._result is not None and not self._result.problem:
                self._result.problem = "the printer aborted the association"


def _as_list(value: object) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return list(value)  # type: ignore[arg-type]
    return [value]


def _tag(value: object) -> str:
    t = Tag(value)  # type: ignore[arg-type]
    return f"({t.group:04X},{t.element:04X})"
