"""Print jobs: the durable job store, the spool folder holding each job's pixels and manifest.

A job is created by the Print SCP at N-ACTION (PS3.4 H.4.1.2.3 / H.4.2.2.4): the films are frozen
into the spool (:mod:`printserver.jobs.spool`) as a manifest (:mod:`printserver.jobs.manifest`)
and pixel files, and the job row committed to the job store (:mod:`printserver.jobs.store`) by
:mod:`printserver.jobs.writer`, before the SCU is told Success. Workers render it
(:mod:`printserver.jobs.worker`, :mod:`printserver.jobs.pool`); a printer's status is computed in
:mod:`printserver.jobs.printer_status`; the CLI and the web act on jobs and printers through
:mod:`printserver.jobs.services`.
"""

from printserver.jobs.model import Job, JobState
from printserver.jobs.spool import Spool
from printserver.jobs.store import JobStore, open_job_store

__all__ = ["Job", "JobState", "JobStore", "Spool", "open_job_store"]
