"""printserver: a DICOM Print SCP and display/printer calibration server.

Everything on film is optical density: see ``../shared/DESIGN.md`` and ``docs/``.
"""

__version__ = "0.1.0"
