"""Whose film is it: the patient identity a PACS copy of a film is filed under.

A print job carries no patient module; the Print Management Service Class only has the optional
Proposed Study Sequence (2130,00A0) of the Film Session (PS3.3 C.13.1 and PS3.4 H.4.1), holding
Patient and General Study attributes when the modality sends them. The identity therefore comes,
in this order, from:

1. the **Proposed Study Sequence**, when its first item has a Patient ID or Patient's Name;
2. the **Modality Worklist**, when the printer has an ``output.worklist`` provider and it knows
   the Accession Number found in the Film Session Label or an annotation: exactly one
   examination gives Patient's Name, Patient ID, Issuer of Patient ID, Birth Date, Sex,
   Accession Number and the Study Instance UID the film is stored in
   (:mod:`printserver.outputs.worklist`); otherwise the rules below apply, and ``note`` says
   why;
3. the **Film Session Label** (2000,0050), through the printer's ``output.patient_pattern``: a
   regular expression searched in the label, whose named groups ``patient_id`` (required for a
   match), ``patient_name`` and ``accession_number`` give the values (``^`` in a name separates
   family and given names as in PN, PS3.5 6.2);
4. a **placeholder** naming the calling AE title: Patient ID ``UNKNOWN-<AE>``, Patient's Name
   ``UNKNOWN^PRINT FROM <AE>``, so that every film of a modality without identity lands in one
   clearly marked patient a PACS administrator can reconcile.

Nothing is ever guessed beyond these: a label that does not match the pattern gives the
placeholder, not a partial identity.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydicom.dataset import Dataset

from printserver.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from printserver.outputs.worklist import WorklistLookup

log = logging.getLogger(__name__)

#: Patient and study attributes taken over from a Proposed Study Sequence item (PS3.3 C.7.1.1,
#: C.7.2.1) when present
PROPOSED_STUDY_KEYWORDS = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate",
                           "PatientSex", "AccessionNumber", "ReferringPhysicianName", "StudyID")
#: named groups of ``output.patient_pattern`` and the attributes they fill
PATTERN_GROUPS = {"patient_id": "PatientID", "patient_name": "PatientName",
                  "accession_number": "AccessionNumber"}


class IdentitySource(str, enum.Enum):
    """Where a film's patient identity came from (recorded in Image Comments)."""

    PROPOSED_STUDY = "Proposed Study Sequence"
    WORKLIST = "Modality Worklist"
    FILM_SESSION_LABEL = "Film Session Label"
    PLACEHOLDER = "placeholder (no identity sent)"


@dataclass(frozen=True)
class PatientIdentity:
    """The patient and study identity of a job's films.

    ``attributes`` maps DICOM keywords (Patient's Name, Patient ID, Accession Number ...) to
    values; ``source`` says which rule gave them; ``note`` what the worklist said when it was
    asked (empty when it was not), for the job's message.
    """

    attributes: Mapping[str, str]
    source: IdentitySource
    note: str = ""

    @property
    def study_instance_uid(self) -> str | None:
        """The study the films belong to, when the identity names one (the worklist's)."""
        return self.attributes.get("StudyInstanceUID") or None

    def describe(self) -> str:
        """One line for the job's message: where the identity came from, and why."""
        text = f"patient identity from the {self.source.value}"
        return f"{text} ({self.note})" if self.note else text

    def apply(self, ds: Dataset) -> None:
        """Set the identity on ``ds``; Type 2 attributes not known are present and empty."""
        for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                        "AccessionNumber", "ReferringPhysicianName", "StudyID"):
            setattr(ds, keyword, self.attributes.get(keyword, ""))
        if self.attributes.get("IssuerOfPatientID"):
            ds.IssuerOfPatientID = self.attributes["IssuerOfPatientID"]


def compile_pattern(pattern: str, printer: str) -> re.Pattern[str] | None:
    """``output.patient_pattern`` compiled; None when empty.

    Raises
    ------
    ConfigError
        Not a valid regular expression, or without a ``patient_id`` group.
    """
    if not pattern:
        return None
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"printer {printer}: output.patient_pattern {pattern!r}: {exc}") from exc
    if "patient_id" not in compiled.groupindex:
        raise ConfigError(f"printer {printer}: output.patient_pattern {pattern!r} has no "
                          "named group (?P<patient_id>...)")
    return compiled


def from_proposed_study(items: Any) -> dict[str, str] | None:
    """Identity attributes of the first Proposed Study Sequence item (DICOM JSON, as the spool
    keeps it), or None when it names no patient."""
    if not items:
        return None
    try:
        item = Dataset.from_json(items[0]) if isinstance(items[0], dict) else items[0]
    except (TypeError, ValueError, KeyError) as exc:
        log.warning("Proposed Study Sequence unreadable, not used: %s", exc)
        return None
    values = {k: str(item.get(k, "") or "").strip() for k in PROPOSED_STUDY_KEYWORDS}
    values = {k: v for k, v in values.items() if v}
    if not (values.get("PatientID") or values.get("PatientName")):
        return None
    return values


def from_label(label: str, pattern: re.Pattern[str] | None) -> dict[str, str] | None:
    """Identity attributes from the Film Session Label through ``pattern`` (None: no match)."""
    if pattern is None or not label:
        return None
    match = pattern.search(label)
    if match is None or not (match.group("patient_id") or "").strip():
        return None
    groups = match.groupdict()
    return {keyword: groups[group].strip() for group, keyword in PATTERN_GROUPS.items()
            if groups.get(group) and groups[group].strip()}


def placeholder(calling_ae: str) -> dict[str, str]:
    """The marked placeholder identity for films from ``calling_ae``."""
    ae = calling_ae.strip() or "UNKNOWN AE"
    return {"PatientID": f"UNKNOWN-{ae}", "PatientName": f"UNKNOWN^PRINT FROM {ae}"}


def patient_identity(manifest: Mapping[str, Any], pattern: re.Pattern[str] | None,
                     worklist: Callable[[Mapping[str, Any]], WorklistLookup] | None = None
                     ) -> PatientIdentity:
    """The identity of a job's films by the four rules of this module, in order.

    ``worklist`` is the printer's worklist lookup
    (:meth:`printserver.outputs.worklist.WorklistProvider.look_up_job`), asked only when the
    Proposed Study Sequence names no patient; None: no worklist.
    """
    session = manifest.get("film_session", {}).get("attributes", {})
    values = from_proposed_study(session.get("ProposedStudySequence"))
    if values is not None:
        return PatientIdentity(values, IdentitySource.PROPOSED_STUDY)
    note = ""
    if worklist is not None:
        lookup = worklist(manifest)
        if lookup.identity is not None:
            return PatientIdentity(lookup.identity, IdentitySource.WORKLIST, lookup.message)
        note = lookup.message
    values = from_label(str(session.get("FilmSessionLabel", "") or ""), pattern)
    if values is not None:
        return PatientIdentity(values, IdentitySource.FILM_SESSION_LABEL, note)
    return PatientIdentity(placeholder(str(manifest.get("calling_ae", ""))),
                           IdentitySource.PLACEHOLDER, note)
