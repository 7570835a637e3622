"""The Print SCP's service user: thin translations between DIMSE messages and the SOP class modules.

Each DIMSE-N request is looked up by its SOP class (requests under the meta context carry their
own class, PS3.4 H.3), checked against the negotiated contexts (pitfall P6 → 0118), handed to the
operation on the association's :class:`PrintAssociation`, and its :class:`Reply` or
:class:`DimseError` turned into a :class:`Response` of :mod:`printserver.scp.transport`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pynetdicom.pdu_primitives import A_ASSOCIATE

from printserver.config import Config
from printserver.jobs.printer_calibrations import PrinterCalibrations
from printserver.jobs.printer_status import current_status
from printserver.jobs.store import JobStore
from printserver.jobs.writer import JobWriter
from printserver.scp import (annotation_box, film_box, film_session, presentation_lut, printer,
                             image_box)
from printserver.scp.association import PrintAssociation
from printserver.scp.association_log import AssociationRecorder, AssociationTrace
from printserver.scp.model import (ANNOTATION_BOX, FILM_BOX, FILM_SESSION, GRAYSCALE_IMAGE_BOX,
                                   GRAYSCALE_META, PRESENTATION_LUT, PRINT_JOB, PRINTER,
                                   PRINTER_CONFIGURATION)
from printserver.scp.notifier import EventNotifier
from printserver.scp.print_job import get_print_job
from printserver.scp.status import DimseError, Reply, status_fields
from printserver.scp.transport.association import Association, Rejection, Request, Response
from printserver.scp.transport.command import (N_ACTION, N_CREATE, N_DELETE, N_GET, N_SET,
                                               Command)
from printserver.vocabulary import Status

log = logging.getLogger(__name__)

#: SOP classes a meta SOP class covers (PS3.4 H.3)
META_MEMBERS = {GRAYSCALE_META: {FILM_SESSION, FILM_BOX, GRAYSCALE_IMAGE_BOX, PRINTER}}

#: every SOP class this SCP serves with some DIMSE-N service
SERVED_CLASSES = frozenset({FILM_SESSION, FILM_BOX, GRAYSCALE_IMAGE_BOX, ANNOTATION_BOX, PRINTER,
                            PRINT_JOB, PRINTER_CONFIGURATION, PRESENTATION_LUT})
#: A-ASSOCIATE-RJ diagnostics (PS3.8 Table 9-21, source service-user)
CALLING_AE_NOT_RECOGNIZED, CALLED_AE_NOT_RECOGNIZED = 0x03, 0x07


def _negotiated(state: PrintAssociation, class_uid: str) -> bool:
    if class_uid in state.negotiated:
        return True
    return any(class_uid in members and meta in state.negotiated
               for meta, members in META_MEMBERS.items())


@dataclass
class PrintHandlers:
    """The service user of the Print SCP's associations, bound to one configuration."""

    config: Config
    jobs: JobWriter
    #: sends Print Job and Printer N-EVENT-REPORTs (None: no events)
    events: EventNotifier | None = None
    #: writes the association records (None: associations are not recorded)
    recorder: AssociationRecorder | None = None

    @property
    def store(self) -> JobStore:
        return self.jobs.store

    # -- association life cycle ---------------------------------------------------------------
    def on_requested(self, rq: A_ASSOCIATE, address: tuple[str, int]) -> Rejection | None:
        """Select the printer by called AE title; reject unknown titles and disallowed callers."""
        called, calling = rq.called_ae_title.strip(), rq.calling_ae_title.strip()
        chosen = self.config.printer(called)
        if chosen is None:
            return Rejection(1, 1, CALLED_AE_NOT_RECOGNIZED,
                             f"called AE title {called!r} is not a printer")
        if chosen.calling_aets and calling not in chosen.calling_aets:
            return Rejection(1, 1, CALLING_AE_NOT_RECOGNIZED,
                             f"calling AE title {calling!r} not allowed on {chosen.ae_title}")
        return None

    def on_rejected(self, assoc: Association, rejection: Rejection) -> None:
        """Record the rejected association (its A-ASSOCIATE-RJ is being sent)."""
        if self.recorder is not None:
            self.recorder.submit(AssociationTrace.rejected(assoc, rejection))

    def on_established(self, assoc: Association) -> None:
        chosen = self.config.printer(assoc.called_ae)
        assert chosen is not None
        negotiated = frozenset(str(cx.abstract_syntax) for cx in assoc.contexts.values())
        state = PrintAssociation(
            calling_ae=assoc.calling_ae, called_ae=assoc.called_ae, printer=chosen,
            limits=self.config.dicom.limits, strict=self.config.dicom.strict_attributes,
            negotiated=negotiated, jobs=self.jobs,
            staging=self.jobs.spool.stager(assoc.calling_ae),
            trace=AssociationTrace.accepted(assoc) if self.recorder is not None else None)
        assoc.state = state
        log.info("association from %s (%s:%s) to %s accepted, %d contexts", assoc.calling_ae,
                 assoc.address[0], assoc.address[1], assoc.called_ae, len(negotiated))
        if self.events is not None:
            self.events.subscribe(assoc, state)

    def on_ended(self, assoc: Association, how: str) -> None:
        state = assoc.state
        if not isinstance(state, PrintAssociation):
            return
        if self.events is not None:
            self.events.unsubscribe(assoc)
        film_session.release(state)
        state.presentation_luts.clear()
        if state.staging is not None:
            state.staging.close()
        assoc.state = None
        log.info("association from %s to %s %s", state.calling_ae, state.called_ae, how)
        if state.trace is not None and self.recorder is not None:
            self.recorder.submit(state.trace.finish(how, state.queued_jobs))

    # -- DIMSE-N ------------------------------------------------------------------------------
    @staticmethod
    def on_responded(assoc: Association, command: Command, response: Response) -> None:
        """Count the request in the association's trace (and keep a status not Success)."""
        state = assoc.state
        if isinstance(state, PrintAssociation) and state.trace is not None:
            state.trace.responded(command, response)

    def on_request(self, request: Request) -> Response:
        handler = {N_CREATE: self.on_n_create, N_SET: self.on_n_set, N_GET: self.on_n_get,
                   N_ACTION: self.on_n_action, N_DELETE: self.on_n_delete}[request.command.field]
        return handler(request)

    @staticmethod
    def _dispatch(state: PrintAssociation, class_uid: str,
                  table: dict[str, Callable[[], Reply]]) -> Reply:
        if class_uid not in table:
            # a class we serve, but not with this DIMSE service → 0211; any other class → 0118
            status = (Status.UNRECOGNIZED_OPERATION if class_uid in SERVED_CLASSES
                      else Status.NO_SUCH_SOP_CLASS)
            raise DimseError(status, f"{class_uid}: operation not supported")
        if not _negotiated(state, class_uid):
            raise DimseError(Status.NO_SUCH_SOP_CLASS, f"{class_uid} was not negotiated")
        return table[class_uid]()

    @staticmethod
    def _failure(service: str, cls: str, state: PrintAssociation, exc: DimseError) -> Response:
        log.info("%s %s from %s: %s", service, cls, state.calling_ae, exc)
        return Response(int(exc.status), status_fields(exc.status, exc.comment, exc.offending))

    def on_n_create(self, request: Request) -> Response:
        cmd = request.command
        uid, cls = cmd.get("AffectedSOPInstanceUID") or None, str(cmd.get("AffectedSOPClassUID"))
        state: PrintAssociation = request.association.state  # type: ignore[assignment]
        ds = request.data_set
        try:
            reply = self._dispatch(state, cls, {
                FILM_SESSION: lambda: film_session.create(state, uid, ds),
                FILM_BOX: lambda: film_box.create(state, uid, ds),
                PRESENTATION_LUT: lambda: presentation_lut.create(state, uid, ds,
                                                                  request.big_endian),
            })
        except DimseError as exc:
            return self._failure("N-CREATE", cls, state, exc)
        dataset = reply.dataset if reply.dataset is not None else Dataset()
        dataset.SOPClassUID = cls
        dataset.SOPInstanceUID = reply.instance_uid
        fields = status_fields(reply.status, reply.comment, reply.offending)
        fields["AffectedSOPInstanceUID"] = reply.instance_uid
        return Response(int(reply.status), fields, dataset)

    def on_n_set(self, request: Request) -> Response:
        cmd = request.command
        uid, cls = cmd.get("RequestedSOPInstanceUID"), str(cmd.get("RequestedSOPClassUID"))
        state: PrintAssociation = request.association.state  # type: ignore[assignment]
        ds = request.data_set if request.data_set is not None else Dataset()
        try:
            reply = self._dispatch(state, cls, {
                FILM_SESSION: lambda: film_session.update(state, uid, ds),
                FILM_BOX: lambda: film_box.update(state, uid, ds),
                GRAYSCALE_IMAGE_BOX: lambda: image_box.update(state, uid, ds,
                                                              request.big_endian),
                ANNOTATION_BOX: lambda: annotation_box.update(state, uid, ds),
            })
        except DimseError as exc:
            return self._failure("N-SET", cls, state, exc)
        response = _response(reply)
        if state.staging is not None:  # stage the image while the SCU prepares the next
            response.after = state.staging.run_deferred
        return response

    def on_n_get(self, request: Request) -> Response:
        cmd = request.command
        uid, cls = cmd.get("RequestedSOPInstanceUID"), str(cmd.get("RequestedSOPClassUID"))
        state: PrintAssociation = request.association.state  # type: ignore[assignment]
        requested = list(cmd.get("AttributeIdentifierList") or [])
        try:
            reply = self._dispatch(state, cls, {
                PRINTER: lambda: printer.get_printer(
                    state.printer, uid, requested, state.strict,
                    current_status(self.store, state.printer.ae_title, self.jobs.spool.root,
                                   state.limits.max_spool_bytes_per_association,
                                   state.limits.max_queued_jobs),
                    PrinterCalibrations(self.store.db).last_calibrated(state.printer.ae_title)),
                PRINTER_CONFIGURATION: lambda: printer.get_configuration(
                    state.printer, state.limits, uid, requested, state.strict),
                PRINT_JOB: lambda: get_print_job(self.store, uid, requested, state.printer.name),
            })
        except DimseError as exc:
            return self._failure("N-GET", cls, state, exc)
        return _response(reply)

    def on_n_action(self, request: Request) -> Response:
        cmd = request.command
        uid, cls = cmd.get("RequestedSOPInstanceUID"), str(cmd.get("RequestedSOPClassUID"))
        state: PrintAssociation = request.association.state  # type: ignore[assignment]
        action_type = cmd.get("ActionTypeID")
        try:
            reply = self._dispatch(state, cls, {
                FILM_SESSION: lambda: film_session.action(state, uid, action_type),
                FILM_BOX: lambda: film_box.action(state, uid, action_type),
            })
        except DimseError as exc:
            return self._failure("N-ACTION", cls, state, exc)
        if reply.instance_uid and self.events is not None:
            label = state.film_session.attributes.get("FilmSessionLabel") if state.film_session \
                else None
            self.events.job_queued(request.association, reply.instance_uid, str(label or ""))
        return _response(reply)

    def on_n_delete(self, request: Request) -> Response:
        cmd = request.command
        uid, cls = cmd.get("RequestedSOPInstanceUID"), str(cmd.get("RequestedSOPClassUID"))
        state: PrintAssociation = request.association.state  # type: ignore[assignment]
        try:
            reply = self._dispatch(state, cls, {
                FILM_SESSION: lambda: film_session.delete(state, uid),
                FILM_BOX: lambda: film_box.delete(state, uid),
                PRESENTATION_LUT: lambda: presentation_lut.delete(state, uid),
            })
        except DimseError as exc:
            return self._failure("N-DELETE", cls, state, exc)
        return _response(reply, with_data_set=False)


def _response(reply: Reply, with_data_set: bool = True) -> Response:
    """The Response of a successful operation (Success or a warning)."""
    return Response(int(reply.status), status_fields(reply.status, reply.comment, reply.offending),
                    reply.dataset if with_data_set else None)
