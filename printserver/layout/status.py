"""What rendering a film reports: warnings it survived and errors that stop the film.

Both carry the PS3.4 Annex H status a Print SCP would answer for the same condition (B604 image
demagnified, B609 cropped, B60A decimated, B605 density clamped; C603 image larger than its box),
so that the job record and the SCP speak the same language.
"""

from __future__ import annotations

from dataclasses import dataclass

from printserver.errors import PrintserverError
from printserver.vocabulary import Status


class LayoutError(PrintserverError, ValueError):
    """A film that cannot be rendered as requested; the message names the reason.

    Parameters
    ----------
    reason
        Operator-readable text, e.g. ``"image box 3: image 900 x 900 mm is larger than ..."``.
    status
        The PS3.4 status that matches the failure (C603 for an image too large with FAIL,
        0106 for an invalid attribute value such as an unknown film size).
    image_box_position
        The image box concerned, if any.
    """

    def __init__(self, reason: str, status: Status = Status.INVALID_ATTRIBUTE_VALUE,
                 image_box_position: int | None = None) -> None:
        self.reason = reason
        self.status = status
        self.image_box_position = image_box_position
        super().__init__(reason)


@dataclass(frozen=True)
class RenderWarning:
    """A condition the film was rendered through, not exactly as requested (PS3.4 H.4 warnings)."""

    status: Status
    message: str
    image_box_position: int | None = None

    def __str__(self) -> str:
        where = f"image box {self.image_box_position}: " if self.image_box_position else ""
        return f"{where}{self.message} (status {self.status.value:04X})"
