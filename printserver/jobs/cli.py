"""``printserver jobs list|show|cancel|retry|reprint|purge``: the print jobs in the job store.

Thin: each sub-command parses its arguments, calls :class:`printserver.jobs.services.JobService`
(or retention's purge) and formats what it returns.
"""

from __future__ import annotations

import argparse
import getpass
import json

from printserver.config import load_config
from printserver.errors import PrintserverError
from printserver.jobs.model import JobState
from printserver.jobs.retention import purge
from printserver.jobs.services import Services



def actor() -> str:
    """Who takes an action with this command, for the log and the job's timeline: the user
    running it."""
    try:
        return f"{getpass.getuser()} (cli)"
    except (OSError, KeyError):  # no user name in the environment or the password database
        return "cli"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="list, show, cancel, retry, reprint and purge print jobs",
                       description="Print jobs accepted by the Print SCP (state QUEUED, RENDERING, "
                                   "PRINTING, DONE, FAILED or CANCELLED).")
    jobs = p.add_subparsers(dest="jobs_command", metavar="SUBCOMMAND", required=True)
    for name, helptext in (("list", "list jobs, oldest first"), ("show", "one job with its films and manifest")):
        q = jobs.add_parser(name, help=helptext)
        if name == "show":
            q.add_argument("job_id", metavar="ID")
        else:
            q.add_argument("--state", action="append", metavar="STATE",
                           help="only jobs in this state (repeatable)")
        q.add_argument("--json", action="store_true", help="JSON output")
        q.add_argument("--config", metavar="FILE", help="TOML configuration file")
        q.add_argument("--data-dir", metavar="DIR", help="data folder")
        q.set_defaults(func=run_list if name == "list" else run_show)
    for name, helptext in (
            ("cancel", "cancel a job: a waiting one at once, a rendering or printing one at its "
                       "worker's next step (its CUPS jobs cancelled too)"),
            ("retry", "put a FAILED or CANCELLED job back in the queue"),
            ("reprint", "queue a new job with the same films (the original is not changed)")):
        q = jobs.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:])
        q.add_argument("job_id", metavar="ID")
        q.add_argument("--json", action="store_true", help="JSON output (the job as recorded)")
        q.add_argument("--config", metavar="FILE", help="TOML configuration file")
        q.add_argument("--data-dir", metavar="DIR", help="data folder")
        q.set_defaults(func=run_action, action=name)
    q = jobs.add_parser("purge", help="remove spooled pixels and films of old finished jobs",
                        description="Remove the spooled pixels and finished films of DONE, FAILED "
                                    "and CANCELLED jobs that finished more than DAYS days ago "
                                    "(job rows are kept, marked purged). Unfinished jobs are "
                                    "never touched.")
    q.add_argument("--older-than", metavar="DAYS", type=float, required=True,
                   help="age in days (fractions allowed; 0 = every finished job)")
    q.add_argument("--json", action="store_true", help="JSON output")
    q.add_argument("--config", metavar="FILE", help="TOML configuration file")
    q.add_argument("--data-dir", metavar="DIR", help="data folder")
    q.set_defaults(func=run_purge)


def _services(args: argparse.Namespace) -> Services:
    return Services.open(load_config(args.config, data_dir=args.data_dir))


def run_list(args: argparse.Namespace) -> int:
    with _services(args) as services:
        jobs = services.jobs.list(args.state)
        if args.json:
            print(json.dumps([services.jobs.as_dict(j) for j in jobs], indent=1))
            return 0
    print(f"{'JOB':22} {'STATE':9} {'PRINTER':16} {'CALLING AE':16} {'FILMS':>5} {'COPIES':>6}  CREATED")
    for j in jobs:
        print(f"{j.job_id:22} {j.state.value:9} {j.printer:16} {j.calling_ae:16} "
              f"{j.film_count:5d} {j.copies:6d}  {j.created_at}")
    return 0


def run_action(args: argparse.Namespace) -> int:
    """cancel / retry / reprint one job; prints the job as recorded (the new one for reprint)."""
    with _services(args) as services:
        action = {"cancel": services.jobs.cancel, "retry": services.jobs.retry,
                  "reprint": services.jobs.reprint}[args.action]
        job = action(args.job_id, actor=actor())
        if args.json:
            print(json.dumps(services.jobs.as_dict(job), indent=1))
            return 0
    if args.action == "reprint":
        print(f"job {job.job_id} queued: reprint of job {args.job_id}")
    elif job.state is JobState.CANCELLED:
        print(f"job {job.job_id} CANCELLED")
    elif args.action == "cancel":
        print(f"job {job.job_id} is {job.state.value}: it will be cancelled at its worker's next "
              "step")
    else:
        print(f"job {job.job_id} {job.state.value}")
    return 0


def run_purge(args: argparse.Namespace) -> int:
    if args.older_than < 0:
        raise PrintserverError("--older-than must be >= 0")
    with _services(args) as services:
        report = purge(services.store, services.spool, args.older_than)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(f"purged {len(report.jobs)} job(s): {report.files} file(s), "
              f"{report.bytes / 1e6:.1f} MB")
    return 0


def run_show(args: argparse.Namespace) -> int:
    with _services(args) as services:
        detail = services.jobs.show(args.job_id)
    if args.json:
        print(json.dumps(detail.to_dict(), indent=1))
        return 0
    for key, value in detail.job.to_dict().items():
        print(f"{key:20} {value}")
    for f in detail.films:
        print(f"output film {f.film}: {f.width_mm:g} x {f.height_mm:g} mm at "
              f"{f.dpi:g} dpi, {f.copies} copies, rendered in {f.render_seconds:.2f} s")
        for path in f.pdf_files:
            print(f"  pdf      {path}")
        if f.preview:
            print(f"  preview  {f.preview}")
        for w in f.warnings:
            print(f"  warning  {w}")
    for event in detail.timeline:
        actor = f" by {event.actor}" if event.actor else ""
        print(f"{event.at}  {event.event.value:16} {event.state.value:9}{actor}"
              + (f": {event.message}" if event.message else ""))
    if detail.manifest is None:
        print(detail.manifest_error)
        return 0
    for film in detail.summaries:
        print(f"film {film.number}: {film.image_display_format} {film.film_size_id} "
              f"{film.film_orientation}, {len(film.images)}/{film.image_boxes} image boxes set")
        if film.configuration_information:
            print(f"  configuration information: {film.configuration_information}")
        for im in film.images:
            print(f"  box {im.position}: {im.columns}x{im.rows} {im.bits_stored}-bit "
                  f"{im.photometric_interpretation} {im.file}")
            if im.configuration_information:
                print(f"  box {im.position} configuration information: "
                      f"{im.configuration_information}")
    return 0
