"""pynetdicom event handlers: thin translations between DIMSE messages and the SOP class modules.

Each DIMSE-N handler looks up the operation for the request's SOP class (requests under the meta
context carry their own class, PS3.4 H.3), checks that the class was negotiated (pitfall P6 →
0118), calls the operation on the association's :class:`PrintAssociation`, and turns its
:class:`Reply` or :class:`DimseError` into pynetdicom's ``(status, dataset)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian
from pynetdicom import evt

from printserver.config import Config
from printserver.jobs.store import JobStore
from printserver.scp import (annotation_box, film_box, film_session, image_box, presentation_lut,
                             printer)
from printserver.scp.association import PrintAssociation
from printserver.scp.model import (ANNOTATION_BOX, FILM_BOX, FILM_SESSION, GRAYSCALE_IMAGE_BOX,
                                   GRAYSCALE_META, PRESENTATION_LUT, PRINT_JOB, PRINTER,
                                   PRINTER_CONFIGURATION)
from printserver.scp.notifier import EventNotifier
from printserver.scp.print_job import JobWriter, get_print_job
from printserver.scp.status import DimseError, Reply, status_dataset
from printserver.vocabulary import Status

log = logging.getLogger(__name__)

#: SOP classes a meta SOP class covers (PS3.4 H.3)
META_MEMBERS = {GRAYSCALE_META: {FILM_SESSION, FILM_BOX, GRAYSCALE_IMAGE_BOX, PRINTER}}

#: Command Field (0000,0100) of N-EVENT-REPORT-RQ and -RSP (PS3.7 E.1)
EVENT_REPORT_COMMANDS = (0x0100, 0x8100)

#: every SOP class this SCP serves with some DIMSE-N service
SERVED_CLASSES = frozenset({FILM_SESSION, FILM_BOX, GRAYSCALE_IMAGE_BOX, ANNOTATION_BOX, PRINTER,
                            PRINT_JOB, PRINTER_CONFIGURATION, PRESENTATION_LUT})


def _negotiated(state: PrintAssociation, class_uid: str) -> bool:
    if class_uid in state.negotiated:
        return True
    return any(class_uid in members and meta in state.negotiated
               for meta, members in META_MEMBERS.items())


@dataclass
class PrintHandlers:
    """The event handlers of the Print SCP, bound to one configuration and job store."""

    config: Config
    jobs: JobWriter
    #: sends Print Job and Printer N-EVENT-REPORTs (None: no events)
    events: EventNotifier | None = None

    @property
    def store(self) -> JobStore:
        return self.jobs.store

    def bindings(self) -> list[tuple[Any, Callable]]:
        return [
            (evt.EVT_REQUESTED, self.on_requested),
            (evt.EVT_ESTABLISHED, self.on_established),
            (evt.EVT_RELEASED, self.on_released),
            (evt.EVT_ABORTED, self.on_aborted),
            (evt.EVT_N_CREATE, self.on_n_create),
            (evt.EVT_N_SET, self.on_n_set),
            (evt.EVT_N_GET, self.on_n_get),
            (evt.EVT_N_ACTION, self.on_n_action),
            (evt.EVT_N_DELETE, self.on_n_delete),
            (evt.EVT_DIMSE_RECV, self.on_dimse),
            (evt.EVT_DIMSE_SENT, self.on_dimse),
        ]

    # -- association life cycle ---------------------------------------------------------------
    def on_requested(self, event: evt.Event) -> None:
        """Select the printer by called AE title; reject unknown titles and disallowed callers."""
        rq = event.assoc.requestor.primitive
        called, calling = rq.called_ae_title.strip(), rq.calling_ae_title.strip()
        chosen = self.config.printer(called)
        reason = None
        if chosen is None:
            reason, diagnostic = f"called AE title {called!r} is not a printer", 0x07
        elif chosen.calling_aets and calling not in chosen.calling_aets:
            reason, diagnostic = f"calling AE title {calling!r} not allowed on {chosen.ae_title}", 0x03
        if reason:
            log.warning("association from %s (%s) rejected: %s", calling,
                        event.assoc.requestor.address, reason)
            event.assoc.acse.send_reject(0x01, 0x01, diagnostic)
            event.assoc.kill()  # as pynetdicom does itself: lets the DUL send the A-ASSOCIATE-RJ
            return
        event.assoc.acceptor.ae_title = called  # A-ASSOCIATE-AC echoes the called AE title

    def on_established(self, event: evt.Event) -> None:
        assoc = event.assoc
        rq = assoc.requestor.primitive
        called, calling = rq.called_ae_title.strip(), rq.calling_ae_title.strip()
        chosen = self.config.printer(called)
        assert chosen is not None
        negotiated = frozenset(str(cx.abstract_syntax) for cx in assoc.accepted_contexts)
        assoc.print_state = PrintAssociation(
            calling_ae=calling, called_ae=called, printer=chosen, limits=self.config.dicom.limits,
            strict=self.config.dicom.strict_attributes, negotiated=negotiated, jobs=self.jobs)
        log.info("association from %s (%s:%s) to %s accepted, %d contexts",
                 calling, assoc.requestor.address, assoc.requestor.port, called, len(negotiated))
        if self.events is not None:
            self.events.subscribe(assoc, assoc.print_state)

    def _end(self, event: evt.Event, how: str) -> None:
        state: PrintAssociation | None = getattr(event.assoc, "print_state", None)
        if state is None:
            return
        if self.events is not None:
            self.events.unsubscribe(event.assoc)
        film_session.release(state)
        state.presentation_luts.clear()
        del event.assoc.print_state
        log.info("association from %s to %s %s", state.calling_ae, state.called_ae, how)

    def on_dimse(self, event: evt.Event) -> None:
        """Note traffic other than event reports: events wait for a quiet moment (notifier)."""
        if self.events is not None and \
                event.message.command_set.CommandField not in EVENT_REPORT_COMMANDS:
            self.events.activity(event.assoc)

    def on_released(self, event: evt.Event) -> None:
        self._end(event, "released")

    def on_aborted(self, event: evt.Event) -> None:
        self._end(event, "aborted")

    # -- DIMSE-N ------------------------------------------------------------------------------
    @staticmethod
    def _state(event: evt.Event) -> PrintAssociation:
        return event.assoc.print_state

    @staticmethod
    def _big_endian(event: evt.Event) -> bool:
        return event.context.transfer_syntax == ExplicitVRBigEndian

    def _dispatch(self, event: evt.Event, class_uid: str,
                  table: dict[str, Callable[[], Reply]]) -> Reply:
        state = self._state(event)
        if class_uid not in table:
            # a class we serve, but not with this DIMSE service → 0211; any other class → 0118
            status = (Status.UNRECOGNIZED_OPERATION if class_uid in SERVED_CLASSES
                      else Status.NO_SUCH_SOP_CLASS)
            raise DimseError(status, f"{class_uid}: operation not supported")
        if not _negotiated(state, class_uid):
            raise DimseError(Status.NO_SUCH_SOP_CLASS, f"{class_uid} was not negotiated")
        return table[class_uid]()

    def on_n_create(self, event: evt.Event) -> tuple[Any, Dataset | None]:
        req = event.request
        uid, cls = req.AffectedSOPInstanceUID, str(req.AffectedSOPClassUID)
        state = self._state(event)
        try:
            ds = event.attribute_list if req.AttributeList is not None else None
            reply = self._dispatch(event, cls, {
                FILM_SESSION: lambda: film_session.create(state, uid, ds),
                FILM_BOX: lambda: film_box.create(state, uid, ds),
                PRESENTATION_LUT: lambda: presentation_lut.create(state, uid, ds,
                                                                  self._big_endian(event)),
            })
        except DimseError as exc:
            log.info("N-CREATE %s from %s: %s", cls, state.calling_ae, exc)
            return status_dataset(exc.status, exc.comment, exc.offending), None
        dataset = reply.dataset if reply.dataset is not None else Dataset()
        dataset.SOPClassUID = cls
        dataset.SOPInstanceUID = reply.instance_uid
        if uid:  # the SCU chose the UID
            return _status(reply), dataset
        # pitfall P1: an SCP-assigned UID goes in the data set for Success, in the status otherwise
        if reply.status == Status.SUCCESS:
            dataset.AffectedSOPInstanceUID = reply.instance_uid
            return 0x0000, dataset
        return status_dataset(reply.status, reply.comment, reply.offending,
                              affected_uid=reply.instance_uid), dataset

    def on_n_set(self, event: evt.Event) -> tuple[Any, Dataset | None]:
        req = event.request
        uid, cls = req.RequestedSOPInstanceUID, str(req.RequestedSOPClassUID)
        state = self._state(event)
        try:
            ds = event.modification_list
            reply = self._dispatch(event, cls, {
                FILM_SESSION: lambda: film_session.update(state, uid, ds),
                FILM_BOX: lambda: film_box.update(state, uid, ds),
                GRAYSCALE_IMAGE_BOX: lambda: image_box.update(state, uid, ds,
                                                              self._big_endian(event)),
                ANNOTATION_BOX: lambda: annotation_box.update(state, uid, ds),
            })
        except DimseError as exc:
            log.info("N-SET %s from %s: %s", cls, state.calling_ae, exc)
            return status_dataset(exc.status, exc.comment, exc.offending, attribute_list=True), None
        return _status(reply, attribute_list=True), reply.dataset

    def on_n_get(self, event: evt.Event) -> tuple[Any, Dataset | None]:
        req = event.request
        uid, cls = req.RequestedSOPInstanceUID, str(req.RequestedSOPClassUID)
        state = self._state(event)
        requested = list(event.attribute_identifiers or [])
        try:
            reply = self._dispatch(event, cls, {
                PRINTER: lambda: printer.get_printer(
                    state.printer, uid, requested, state.strict,
                    printer.current_status(self.store, state.printer.ae_title,
                                           self.jobs.spool.root,
                                           state.limits.max_spool_bytes_per_association,
                                           state.limits.max_queued_jobs)),
                PRINTER_CONFIGURATION: lambda: printer.get_configuration(
                    state.printer, state.limits, uid, requested, state.strict),
                PRINT_JOB: lambda: get_print_job(self.store, uid, requested, state.printer.name),
            })
        except DimseError as exc:
            log.info("N-GET %s from %s: %s", cls, state.calling_ae, exc)
            return status_dataset(exc.status, exc.comment, exc.offending, attribute_list=True), None
        return _status(reply, attribute_list=True), reply.dataset

    def on_n_action(self, event: evt.Event) -> tuple[Any, Dataset | None]:
        req = event.request
        uid, cls = req.RequestedSOPInstanceUID, str(req.RequestedSOPClassUID)
        state = self._state(event)
        action_type = req.ActionTypeID
        try:
            reply = self._dispatch(event, cls, {
                FILM_SESSION: lambda: film_session.action(state, uid, action_type),
                FILM_BOX: lambda: film_box.action(state, uid, action_type),
            })
        except DimseError as exc:
            log.info("N-ACTION %s from %s: %s", cls, state.calling_ae, exc)
            return status_dataset(exc.status, exc.comment, exc.offending), None
        if reply.instance_uid and self.events is not None:
            label = state.film_session.attributes.get("FilmSessionLabel") if state.film_session \
                else None
            self.events.job_queued(event.assoc, reply.instance_uid, str(label or ""))
        return _status(reply), reply.dataset

    def on_n_delete(self, event: evt.Event) -> Any:
        req = event.request
        uid, cls = req.RequestedSOPInstanceUID, str(req.RequestedSOPClassUID)
        state = self._state(event)
        try:
            reply = self._dispatch(event, cls, {
                FILM_SESSION: lambda: film_session.delete(state, uid),
                FILM_BOX: lambda: film_box.delete(state, uid),
                PRESENTATION_LUT: lambda: presentation_lut.delete(state, uid),
            })
        except DimseError as exc:
            log.info("N-DELETE %s from %s: %s", cls, state.calling_ae, exc)
            return status_dataset(exc.status, exc.comment, exc.offending)
        return _status(reply)


def _status(reply: Reply, attribute_list: bool = False) -> Any:
    if reply.status == Status.SUCCESS:
        return 0x0000
    return status_dataset(reply.status, reply.comment, reply.offending,
                          attribute_list=attribute_list)

