"""What every output of finished films offers the worker, and the error it raises.

An output receives a job's spool manifest and a pixel loader, renders the films the way its device
needs them (OD through a device profile for a PDF folder or a paper printer, P-values for a DICOM
film printer or a PACS copy, see ``../shared/DESIGN.md``) and delivers them.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from printserver.errors import PrintserverError
from printserver.layout.job_render import PixelLoader, RenderedJob


class OutputError(PrintserverError):
    """Finished films could not be delivered (folder not writable, disk full, kind not implemented).

    The message is fit for the job record: the worker marks the job FAILED with it.
    """


class Output(abc.ABC):
    """A printer's output: where and how the films of its jobs go."""

    #: the ``output.kind`` of the printer configuration this class serves
    kind: str = ""

    @abc.abstractmethod
    def deliver(self, manifest: Mapping[str, Any], load: PixelLoader) -> RenderedJob:
        """Render every film of a job and deliver it; return the films with their final files.

        Raises
        ------
        LayoutError
            The job cannot be rendered as requested.
        OutputError
            The films could not be delivered.
        """
