"""The job manifest: what a print job is, as written to its spool folder (``manifest.json``).

The Print SCP freezes every film session, film box, image box, annotation and Presentation LUT
attribute of a print into a manifest at N-ACTION (PS3.4 H.4.1.2.3 / H.4.2.2.4); the render
workers, the outputs and ``printserver jobs show`` read it back, possibly in another release of
printserver. The form is declared here once, as :class:`typing.TypedDict` classes the SCP builds
and the readers rely on, under a version number, :data:`MANIFEST_FORMAT`, that changes whenever a
reader of the previous form could misread the new one.

A manifest is checked when it is read (:func:`read_manifest`) and before it is written
(:class:`printserver.jobs.writer.JobWriter`): a manifest of an unknown or newer format, or one
missing a key the readers need, gives a :class:`~printserver.jobs.spool.SpoolError` naming the job
and what is wrong, instead of a ``KeyError`` deep inside rendering. Values are not checked here:
what they mean is the renderer's business (:mod:`printserver.layout.job_render`), which fails a
job with a value it cannot print.

Attribute values (``attributes``) are a mapping from the DICOM keyword to a JSON-ready value, as
received or defaulted; Referenced Presentation LUT Sequence is kept as the referenced UID.
"""

# no ``from __future__ import annotations``: TypedDict must see NotRequired to tell the keys a
# manifest may lack (``__required_keys__``)
import typing
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from printserver.jobs.model import Job
from printserver.jobs.spool import Spool, SpoolError

#: version of the manifest's form (see the module docstring); written as ``format``
MANIFEST_FORMAT = 1


class PixelFile(TypedDict):
    """An image box's pixels: a raw file in the job folder (little endian, as received)."""

    file: str
    rows: int
    columns: int
    bits_allocated: int
    bits_stored: int
    high_bit: int
    pixel_representation: int
    photometric_interpretation: str
    samples_per_pixel: int
    pixel_aspect_ratio: list[int] | None
    byte_order: str
    nbytes: int
    sha256: str


class PresentationLUTEntry(TypedDict):
    """A Presentation LUT (PS3.3 C.11.4): a ``shape``, or ``descriptor`` + ``data`` (and
    ``explanation``)."""

    uid: str
    shape: NotRequired[str]
    descriptor: NotRequired[list[int]]
    explanation: NotRequired[str]
    data: NotRequired[list[int]]


class ImageBoxEntry(TypedDict):
    """A Basic Grayscale Image Box (PS3.4 H.4.3) and its pixels (None: no image set)."""

    uid: str
    sop_class_uid: str
    index: int
    position: int
    attributes: dict[str, Any]
    presentation_lut: PresentationLUTEntry | None
    image: PixelFile | None


class AnnotationEntry(TypedDict):
    """A Basic Annotation Box (PS3.4 H.4.4)."""

    uid: str
    index: int
    position: int
    text: str


class DisplayFormatEntry(TypedDict):
    """An Image Display Format (2010,0010) as parsed
    (:class:`printserver.vocabulary.ImageDisplayFormat`)."""

    kind: str
    counts: list[int]
    text: str


class FilmEntry(TypedDict):
    """A Basic Film Box (PS3.4 H.4.2): one film of the job."""

    film_box_uid: str
    attributes: dict[str, Any]
    image_display_format: DisplayFormatEntry
    presentation_lut: PresentationLUTEntry | None
    image_boxes: list[ImageBoxEntry]
    annotation_boxes: list[AnnotationEntry]


class PrinterEntry(TypedDict):
    """The printer the called AE title selected."""

    ae_title: str
    name: str


class FilmSessionEntry(TypedDict):
    """The Basic Film Session (PS3.4 H.4.1)."""

    uid: str
    attributes: dict[str, Any]


class Manifest(TypedDict):
    """A print job (``manifest.json``)."""

    format: int
    job_id: str
    #: the Print Job SOP Instance UID (PS3.4 H.4.5)
    print_job_uid: str
    #: ``FILM_SESSION`` or ``FILM_BOX``: which N-ACTION printed it
    action: str
    #: ISO 8601 UTC
    created_at: str
    calling_ae: str
    called_ae: str
    printer: PrinterEntry
    #: Number of Copies (2000,0010)
    copies: int
    collated: bool
    film_session: FilmSessionEntry
    #: every Presentation LUT of the association, by UID
    presentation_luts: dict[str, PresentationLUTEntry]
    films: list[FilmEntry]
    #: the job this one reprints (:func:`printserver.jobs.lifecycle.reprint`)
    reprint_of: NotRequired[str]


def _missing(entry: object, form: type, where: str) -> str | None:
    """What is wrong with ``entry`` (at ``where``; "" for the manifest itself) as a ``form``
    (a TypedDict): not an object, or missing keys."""
    subject = f"{where} " if where else ""
    if not isinstance(entry, Mapping):
        return f"{subject}is not an object"
    missing = sorted(form.__required_keys__ - set(entry))  # type: ignore[attr-defined]
    if missing:
        return f"{subject}lacks {', '.join(missing)}"
    return None


def _list(entry: Mapping[str, Any], key: str, form: type, where: str) -> str | None:
    inside = f"{where}.{key}" if where else key
    items = entry[key]
    if not isinstance(items, list):
        return f"{inside} is not a list"
    for n, item in enumerate(items, start=1):
        if problem := _missing(item, form, f"{inside}[{n}]"):
            return problem
    return None


def manifest_problem(manifest: object) -> str | None:
    """What makes ``manifest`` unreadable for this printserver, or None when it can be read.

    Checked: the format (a number this release reads: 1 … :data:`MANIFEST_FORMAT`), and that
    the manifest, its films, their image and annotation boxes and the pixel files have the keys
    of :class:`Manifest`, :class:`FilmEntry`, :class:`ImageBoxEntry`, :class:`AnnotationEntry`
    and :class:`PixelFile`.
    """
    if not isinstance(manifest, Mapping):
        return "is not a job manifest (not a JSON object)"
    version = manifest.get("format")
    if version is None:
        return "has no format number"
    if type(version) is not int or version < 1:
        return f"has an unknown format {version!r}"
    if version > MANIFEST_FORMAT:
        return (f"has format {version}, newer than this printserver reads ({MANIFEST_FORMAT}): "
                "it was written by a newer release")
    if problem := _missing(manifest, Manifest, ""):
        return problem
    if problem := _list(manifest, "films", FilmEntry, ""):
        return problem
    for n, film in enumerate(manifest["films"], start=1):
        where = f"films[{n}]"
        problem = (_list(film, "image_boxes", ImageBoxEntry, where)
                   or _list(film, "annotation_boxes", AnnotationEntry, where))
        if problem:
            return problem
        for m, box in enumerate(film["image_boxes"], start=1):
            image = box["image"]
            if image is not None and (
                    problem := _missing(image, PixelFile, f"{where}.image_boxes[{m}].image")):
                return problem
    return None


def check_manifest(manifest: object, job_id: str) -> Manifest:
    """``manifest`` as a :class:`Manifest`, once :func:`manifest_problem` found nothing wrong.

    Raises
    ------
    SpoolError
        Naming the job and what is wrong.
    """
    problem = manifest_problem(manifest)
    if problem is not None:
        raise SpoolError(f"job {job_id}: manifest {problem}")
    return typing.cast(Manifest, manifest)


def read_manifest(spool: Spool, job: Job | str) -> Manifest:
    """The manifest of a job, read from its spool folder and checked (:func:`check_manifest`).

    Raises
    ------
    SpoolError
        The manifest is missing, or of a format or form this printserver cannot read.
    OSError, ValueError
        The file cannot be read, or is not JSON (e.g. cut short).
    """
    job_id = job.job_id if isinstance(job, Job) else str(job)
    return check_manifest(spool.load_manifest(job), job_id)
