"""A :class:`~printserver.scu.result.PrintResult` as text for an operator, or as JSON."""

from __future__ import annotations

import json

from printserver.scu.result import PrintResult


def as_json(result: PrintResult) -> str:
    """The whole result (``PrintResult.to_dict``), indented JSON."""
    return json.dumps(result.to_dict(), indent=2)


def as_text(result: PrintResult) -> str:
    """One line per response: operation, SOP class, status code, meaning, error comment, and
    where in the print it was; then the events and a summary line."""
    lines = [f"printer {result.called_aet} at {result.host}:{result.port}"
             + (f" ({result.printer_name})" if result.printer_name else "")
             + (f": status {result.printer_status}" if result.printer_status else "")
             + (f" / {result.printer_status_info}" if result.printer_status_info else "")]
    rows = []
    for r in result.responses:
        code = "  none" if r.status is None else f"0x{r.status:04X}"
        detail = r.context
        if r.error_comment:
            detail += f"  [{r.error_comment}]"
        if r.offending:
            detail += "  offending " + " ".join(r.offending)
        rows.append((r.operation, r.sop_class, code, r.meaning, detail.strip()))
    if rows:
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            lines.append(("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths))
                          + "  " + row[4]).rstrip())
    for e in result.events:
        info = " ".join(f"{k}={v}" for k, v in e.information.items())
        lines.append(f"event  N-EVENT-REPORT {e.to_dict()['sop_class']} {e.event}"
                     + (f"  {info}" if info else ""))
    if result.problem:
        lines.append(f"problem: {result.problem}")
    verdict = ("OK" if result.exit_status == 0 else "FAILED")
    lines.append(f"{verdict}: {result.films_printed} film(s) printed, {result.images_sent} "
                 f"image(s) sent, {len(result.responses)} responses "
                 f"({len(result.warnings)} warning(s), {len(result.failures)} failure(s))"
                 + (f", print job {', '.join(result.print_job_uids)}"
                    if result.print_job_uids else ""))
    return "\n".join(lines)
