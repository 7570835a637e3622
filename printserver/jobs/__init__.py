"""Print jobs: the durable job store, the spool folder holding each job's pixels and manifest.

A job is created by the Print SCP at N-ACTION (PS3.4 H.4.1.2.3 / H.4.2.2.4): the films are frozen
into the spool (:mod:`printserver.jobs.spool`) and the job row committed to the job store
(:mod:`printserver.jobs.store`) before the SCU is told Success.
"""

from printserver.jobs.model import Job, JobState
from printserver.jobs.spool import Spool
from printserver.jobs.store import JobStore, open_job_store

__all__ = ["Job", "JobState", "JobStore", "Spool", "open_job_store"]
