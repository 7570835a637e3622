"""A printer's real status for the Printer SOP instance (PS3.4 H.4.6, PS3.3 C.13.9.1).

Three things can hold a printer back, each recorded where every process sees it:

* its **output device** (the job store's printer state, written by the workers and serve's probe):
  a CUPS queue stopped → FAILURE / PRINTER OFFLINE, a missing queue → FAILURE / CHECK PRINTER, the
  CUPS server unreachable → FAILURE / PRINTER DOWN;
* an operator **pause** (``printserver printers pause AE``): WARNING / PRINTER OFFLINE. The printer
  still accepts films (WARNING, not FAILURE, so that modalities keep sending); its jobs wait;
* the **spool** (:func:`printserver.scp.printer.spool_status`): not writable → FAILURE / PRINTER
  DOWN, nearly full → WARNING / PRINT BUFF FULL.

The most severe wins (FAILURE over WARNING over NORMAL; on a tie the output device first, then the
pause, then the spool).
"""

from __future__ import annotations

from printserver.jobs.model import PrinterState

#: Printer Status (2110,0010) enumerated values, PS3.3 C.13.9.1, by severity
SEVERITY = {"NORMAL": 0, "WARNING": 1, "FAILURE": 2}
#: Printer Status / Printer Status Info of a printer an operator paused
PAUSED = ("WARNING", "PRINTER OFFLINE")
NORMAL = ("NORMAL", "NORMAL")


def printer_status(state: PrinterState | None,
                   spool: tuple[str, str] = NORMAL) -> tuple[str, str]:
    """(Printer Status, Printer Status Info) of a printer from its stored state and its spool.

    Parameters
    ----------
    state
        The printer's row in the job store (None: never paused, output never seen failing).
    spool
        The spool's own status, e.g. from :func:`printserver.scp.printer.spool_status`.
    """
    candidates = []
    if state is not None:
        candidates.append((state.output_status, state.output_status_info))
        if state.paused:
            candidates.append(PAUSED)
    candidates.append(spool)
    return max(candidates, key=lambda c: SEVERITY.get(c[0], 2))
