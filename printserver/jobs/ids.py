"""The identifiers printserver mints: job ids and DICOM UIDs.

Job ids name a job in the job store and its spool folder; UIDs are the SOP Instance UIDs of what
the Print SCP creates (film sessions, film boxes, image boxes, Print Jobs, PS3.4 H.2) and of a
reprint's new Print Job.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from pydicom.uid import PYDICOM_ROOT_UID

#: root of the UIDs printserver mints: pydicom's registered root
UID_PREFIX = PYDICOM_ROOT_UID


def new_uid() -> str:
    """A new UID under :data:`UID_PREFIX`: a UUID4 as a decimal number (PS3.5 B.2), cut to the
    64 characters of a UI value, as pydicom's ``generate_uid(prefix)`` makes them (without its
    checks of a prefix that is constant)."""
    return f"{UID_PREFIX}{uuid.uuid4().int}"[:64]


def new_job_id(now: datetime) -> str:
    """Sortable, unique job id: UTC time plus random hex (also the spool folder name)."""
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
