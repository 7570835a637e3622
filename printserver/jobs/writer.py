"""Writing an accepted print job: its spool folder first, then its row in the job store.

The durability chain of an N-ACTION (PS3.4 H.4.1.2.3 / H.4.2.2.4) and of a reprint: the pixel
files and the manifest are written, fsync'd and renamed into place by
:meth:`printserver.jobs.spool.Spool.write_job`, and only then is the job row committed; when the
commit fails, the folder is removed again. So a job row always has its complete folder, and the
SCU hears Success only once both are durable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from printserver.jobs.manifest import Manifest, check_manifest
from printserver.jobs.model import Job
from printserver.jobs.spool import Spool, StagedFile
from printserver.jobs.store import JobStore


@dataclass
class JobWriter:
    """Writes accepted print jobs: spool first, then the job store row (both durable)."""

    spool: Spool
    store: JobStore

    def submit(self, job: Job, manifest: Manifest,
               files: Mapping[str, bytes | StagedFile], actor: str = "") -> Job:
        """Write ``job``'s folder (``manifest`` and pixel ``files``), then its row; return the
        job as stored (with the manifest's SHA-256). ``actor`` is who submitted it, for its
        timeline (default: the job's calling AE title).

        Raises
        ------
        SpoolError
            The manifest is not of the form readers expect (nothing is written), or the folder
            exists already.
        OSError
            The folder could not be written (e.g. disk full).
        JobStoreError
            The row could not be committed (the folder is removed again).
        """
        check_manifest(manifest, job.job_id)
        sha = self.spool.write_job(job.spool_dir, manifest, files)
        job = replace(job, manifest_sha256=sha)
        try:
            self.store.add(job, actor=actor)
        except BaseException:
            self.spool.remove_job(job.spool_dir)
            raise
        return job
