"""Print SCU: send DICOM images or the project's test patterns to any DICOM printer.

* :mod:`printserver.scu.grayscale`: the grayscale transforms of PS3.3 C.11 (VOI window, VOI LUT,
  MONOCHROME1) as pure functions from modality values to print values;
* :mod:`printserver.scu.images`: a DICOM image file (or a test pattern) → a :class:`PrintImage`
  ready for a Basic Grayscale Image Box (MONOCHROME2, 12 bits in 16 or 8 bits);
* :mod:`printserver.scu.session`: :class:`PrintSCU`, one association playing the PS3.4 Annex H
  message flow and recording every status the printer answered;
* :mod:`printserver.scu.report`: the result as text or JSON;
* :mod:`printserver.scu.progress`: the progress line on stderr;
* :mod:`printserver.scu.cli`: ``printserver print``.
"""
