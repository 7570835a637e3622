"""Alembic revisions of the job store's schema, run by :mod:`printserver.jobs.migrate`.

``env.py`` runs them on the connection :func:`printserver.jobs.migrate.upgrade_database` passes
(inside its transaction, under its lock); ``versions/`` holds one file per revision. A revision
file is a frozen record of a change: it never imports :mod:`printserver.jobs.schema`, which only
describes the head.
"""
