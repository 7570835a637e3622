"""Printer emulation profiles: a printer's accepted values and defaults taken from elsewhere.

A printer's ``profile`` key names where (``docs/configuration.md``, Profiles):

* ``dcmtk:PATH#ENTRY``: a printer entry of DCMTK's ``dcmpstat.cfg`` format
  (:mod:`printserver.profiles.dcmtk`);
* ``downstream``: the DICOM film printer of the printer's ``dicom`` output, as it answered Printer
  and Printer Configuration Retrieval N-GET, kept in a cache file under ``data_dir``
  (:mod:`printserver.profiles.downstream`).

:mod:`printserver.profiles.effective` merges built-in defaults, the profile and the keys set in
the configuration file into the one effective :class:`~printserver.config.PrinterConfig` that
the Print SCP, the renderer, the outputs and the CLI all use, recording where each value came
from.
"""
