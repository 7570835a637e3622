"""Whose film is it, asked of the Modality Worklist: a C-FIND by Accession Number (PS3.4 K.6).

A modality that prints often writes the Accession Number of the examination into the Film
Session Label or an annotation box. The ``pacs`` output's ``output.worklist`` names a worklist
provider (a Modality Worklist Information Model - FIND SCP, e.g. the RIS, or Orthanc with its
worklists plugin) and a regular expression, ``accession_pattern``, whose named group
``accession_number`` finds it:

1. :func:`find_accession` searches the pattern in the Film Session Label, then in the
   annotation box texts of every film in Annotation Position order; the first match with a
   non-empty group is the Accession Number;
2. :meth:`WorklistProvider.look_up` asks the provider (C-FIND, Modality Worklist Information
   Model - FIND, 1.2.840.10008.5.1.4.31) with that Accession Number as the matching key and
   Patient's Name, Patient ID, Issuer of Patient ID, Patient's Birth Date, Patient's Sex, Study
   Instance UID and Accession Number as return keys (and an empty Scheduled Procedure Step
   Sequence item, a Type 1 return key of the Modality Worklist);
3. exactly one answer (several scheduled procedure steps of the same patient and study count as
   one) gives the film's identity; none, several that differ, or a provider that cannot be
   reached, refuses or fails give no identity and a sentence saying why
   (:class:`WorklistLookup`), and the ``pacs`` output applies its other rules
   (:mod:`printserver.outputs.patient_identity`).

A provider that is down does not hold the film back: the PACS copy is stored at once with the
other rules' identity and the job's message says that the worklist was not reached (reprint the
job once it is back to file the film under the worklist's patient). See ``docs/outputs.md``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context
from pynetdicom.sop_class import ModalityWorklistInformationFind

from printserver.config import WorklistConfig
from printserver.errors import ConfigError
from printserver.scu.peer import AssociationError, Peer, connect

log = logging.getLogger(__name__)

#: the identity a worklist answer gives a film (return keys of the C-FIND)
IDENTITY_KEYWORDS = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate",
                     "PatientSex", "StudyInstanceUID", "AccessionNumber")
#: answers that are the same examination (one per scheduled procedure step) share these
SAME_EXAMINATION = ("PatientID", "IssuerOfPatientID", "StudyInstanceUID", "AccessionNumber")
SOP_CLASS_NAME = "Modality Worklist Information Model - FIND"
TRANSFER_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
#: C-FIND Pending statuses (PS3.4 C.4.1.1.4): a match follows
PENDING = (0xFF00, 0xFF01)


def compile_accession_pattern(pattern: str, printer: str) -> re.Pattern[str]:
    """``output.worklist.accession_pattern`` compiled.

    Raises
    ------
    ConfigError
        Not a regular expression, or without a named group ``accession_number``.
    """
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"printer {printer}: output.worklist.accession_pattern {pattern!r}: "
                          f"{exc}") from exc
    if "accession_number" not in compiled.groupindex:
        raise ConfigError(f"printer {printer}: output.worklist.accession_pattern {pattern!r} "
                          "has no named group (?P<accession_number>...)")
    return compiled


def texts_of(manifest: Mapping[str, Any]) -> list[str]:
    """The texts an Accession Number is looked for in: the Film Session Label, then every
    film's annotation box texts in Annotation Position order."""
    label = manifest.get("film_session", {}).get("attributes", {}).get("FilmSessionLabel")
    texts = [str(label)] if label else []
    for film in manifest.get("films", []):
        boxes = sorted(film.get("annotation_boxes", []),
                       key=lambda b: int(b.get("position") or b.get("index") or 0))
        texts += [str(b["text"]) for b in boxes if b.get("text")]
    return texts


def find_accession(manifest: Mapping[str, Any], pattern: re.Pattern[str]) -> str | None:
    """The first Accession Number ``pattern`` finds in :func:`texts_of` the manifest, or None."""
    for text in texts_of(manifest):
        match = pattern.search(text)
        if match and (match.group("accession_number") or "").strip():
            return match.group("accession_number").strip()
    return None


@dataclass(frozen=True)
class WorklistLookup:
    """What the worklist said for one job.

    Attributes
    ----------
    identity : dict or None
        The one examination's attributes (keywords of :data:`IDENTITY_KEYWORDS` that have a
        value); None when the worklist gave none.
    message : str
        For the job's message: what was asked and what came of it.
    """

    identity: dict[str, str] | None
    message: str


def query(accession_number: str) -> Dataset:
    """The C-FIND identifier: the Accession Number to match, the identity to return."""
    ds = Dataset()
    for keyword in IDENTITY_KEYWORDS:
        setattr(ds, keyword, "")
    ds.AccessionNumber = accession_number
    ds.ScheduledProcedureStepSequence = [Dataset()]
    return ds


def identities(answers: list[Dataset]) -> list[dict[str, str]]:
    """The distinct examinations among C-FIND answers (one per scheduled procedure step)."""
    found: dict[tuple[str, ...], dict[str, str]] = {}
    for answer in answers:
        values = {k: str(answer.get(k, "") or "").strip() for k in IDENTITY_KEYWORDS}
        values = {k: v for k, v in values.items() if v}
        found.setdefault(tuple(values.get(k, "") for k in SAME_EXAMINATION), values)
    return list(found.values())


class WorklistProvider:
    """A Modality Worklist provider asked for the patient of a job's films.

    Parameters
    ----------
    config
        ``output.worklist`` of a ``pacs`` printer (enabled: it has a host).
    printer
        The printer's AE title, for messages.

    Raises
    ------
    ConfigError
        The accession pattern is not valid.
    """

    def __init__(self, config: WorklistConfig, printer: str) -> None:
        self.peer = Peer(config.host, config.port, config.called_aet, config.calling_aet,
                         config.timeout, "worklist provider")
        self.pattern = compile_accession_pattern(config.accession_pattern, printer)

    def look_up_job(self, manifest: Mapping[str, Any]) -> WorklistLookup:
        """The worklist's identity for a job (its Accession Number found first)."""
        accession = find_accession(manifest, self.pattern)
        if accession is None:
            return WorklistLookup(None, "no Accession Number in the Film Session Label or the "
                                        "annotations, worklist not asked")
        return self.look_up(accession)

    def look_up(self, accession_number: str) -> WorklistLookup:
        """C-FIND ``accession_number`` (see the module docstring); never raises for the
        provider: a failure is a lookup without identity that says why."""
        asked = f"{self.peer.where}, accession {accession_number}"
        try:
            assoc = connect(self.peer, [build_context(ModalityWorklistInformationFind,
                                                      TRANSFER_SYNTAXES)],
                            required={ModalityWorklistInformationFind: SOP_CLASS_NAME})
        except AssociationError as exc:
            return self._without(f"{asked}: unavailable ({exc.detail})")
        answers: list[Dataset] = []
        failure = ""
        try:
            for status, identifier in assoc.send_c_find(query(accession_number),
                                                         ModalityWorklistInformationFind):
                code = int(status.Status) if status is not None and "Status" in status else None
                if code in PENDING and identifier is not None:
                    answers.append(identifier)
                elif code is None:
                    failure = "no answer (association aborted or timed out)"
                elif code != 0x0000:
                    failure = f"C-FIND answered 0x{code:04X}"
        finally:
            if assoc.is_established:
                assoc.release()
        if failure:
            return self._without(f"{asked}: {failure}")
        found = identities(answers)
        if not found:
            return self._without(f"{asked}: no worklist entry")
        if len(found) > 1:
            return self._without(f"{asked}: {len(found)} worklist entries for different "
                                 "patients or studies")
        log.info("worklist %s: patient %s", asked, found[0].get("PatientID", "?"))
        return WorklistLookup(found[0], f"{asked}: patient {found[0].get('PatientID', '')}")

    @staticmethod
    def _without(message: str) -> WorklistLookup:
        log.warning("worklist %s; the other identity rules apply", message)
        return WorklistLookup(None, message)


__all__ = ["IDENTITY_KEYWORDS", "WorklistLookup", "WorklistProvider",
           "compile_accession_pattern", "find_accession", "identities", "query", "texts_of"]
