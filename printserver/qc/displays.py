"""The display registry: register, change, retire and list the displays under QC.

Every input is checked against :data:`DISPLAY_FIELDS` (one table; errors name the field) before
anything is written; the limit overrides through
:meth:`~printserver.gsdf.qc_limits.QCLimits.with_overrides` (``limits.<name>`` names the limit).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from printserver.errors import ParameterError
from printserver.gsdf.qc_limits import DisplayClass, QCLimits
from printserver.qc.errors import RecordInUseError, UnknownRecordError
from printserver.qc.fields import Field, clean, limit_overrides
from printserver.qc.records import Display
from printserver.qc.store import QCStore

log = logging.getLogger(__name__)

#: the fields of a display (the ``limits`` mapping is checked separately)
DISPLAY_FIELDS = (
    Field("name", required=True, max_length=64),
    Field("workstation", max_length=64, default=""),
    Field("location", max_length=128, default=""),
    Field("display_class", "choice", choices=tuple(c.value for c in DisplayClass),
          default=DisplayClass.PRIMARY.value),
    Field("target_lmax", "number", minimum=0, above=True, maximum=4000),
    Field("target_luminance_ratio", "number", minimum=1, above=True, maximum=100000),
    Field("notes", max_length=2000, multiline=True, default=""),
    Field("retired", "bool", default=False),
)
#: the field names a caller may give, ``limits`` included
FIELD_NAMES = tuple(f.name for f in DISPLAY_FIELDS) + ("limits",)


def check_limits(limits: Any, display_class: str) -> dict[str, float | None]:
    """Limit overrides of a display of ``display_class`` as stored (:func:`limit_overrides`:
    errors name ``limits.<key>``)."""
    return limit_overrides(limits, QCLimits.for_class(display_class))


class DisplayService:
    """Register and manage displays (:class:`~printserver.qc.records.Display`)."""

    def __init__(self, store: QCStore) -> None:
        self.store = store

    def create(self, fields: Mapping[str, Any], actor: str) -> Display:
        """Register a display.

        Parameters
        ----------
        fields
            :data:`DISPLAY_FIELDS` values (``name`` required) and optionally ``limits``.
        actor
            Who registers it.

        Raises
        ------
        ParameterError
            A field that is wrong, named (:class:`~printserver.qc.errors.DuplicateDisplayError`
            for a name already registered).
        """
        values = dict(fields)
        limits = values.pop("limits", None)
        checked = clean(DISPLAY_FIELDS, values)
        checked["limits"] = check_limits(limits, checked["display_class"])
        display = self.store.add_display(checked, actor)
        log.info("display %r registered by %s", display.name, actor or "?")
        return display

    def update(self, display_id: int, changes: Mapping[str, Any], actor: str) -> Display:
        """Change some fields of a display (only those given).

        Raises
        ------
        UnknownRecordError, ParameterError
        """
        current = self.get(display_id)
        values = dict(changes)
        limits = values.pop("limits", None) if "limits" in values else ...
        checked = clean(DISPLAY_FIELDS, values, partial=True)
        if "name" in checked and not checked["name"]:
            raise ParameterError("name", "required")
        display_class = checked.get("display_class", current.display_class)
        if limits is not ...:
            checked["limits"] = check_limits(limits, display_class)
        elif "display_class" in checked:
            checked["limits"] = check_limits(dict(current.limits), display_class)
        if not checked:
            return current
        display = self.store.update_display(display_id, checked)
        if display is None:
            raise UnknownRecordError(f"no display {display_id}")
        log.info("display %r changed by %s: %s", display.name, actor or "?", ", ".join(checked))
        return display

    def retire(self, display_id: int, actor: str, retired: bool = True) -> Display:
        """Take a display out of service (its history is kept), or back in with ``retired=False``."""
        return self.update(display_id, {"retired": retired}, actor)

    def delete(self, display_id: int, actor: str) -> None:
        """Remove a display that has no QC session (one with sessions can only be retired).

        Raises
        ------
        UnknownRecordError, RecordInUseError
        """
        removed = self.store.delete_display(display_id)
        if removed is None:
            raise UnknownRecordError(f"no display {display_id}")
        if removed is False:
            raise RecordInUseError(f"display {display_id} has QC sessions: retire it instead, "
                                   "so that its history is kept")
        log.info("display %d removed by %s", display_id, actor or "?")

    def get(self, display_id: int) -> Display:
        """Raises :class:`UnknownRecordError`."""
        display = self.store.display(int(display_id))
        if display is None:
            raise UnknownRecordError(f"no display {display_id}")
        return display

    def get_by_name(self, name: str) -> Display:
        """Raises :class:`UnknownRecordError`."""
        display = self.store.display_by_name(str(name).strip())
        if display is None:
            raise UnknownRecordError(f"no display named {name!r}")
        return display

    def list(self, include_retired: bool = False) -> list[Display]:
        """Displays by name (retired ones only with ``include_retired``)."""
        return self.store.displays(include_retired)
