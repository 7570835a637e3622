"""PS3.14 Grayscale Standard Display Function and the calibration maths built on it.

Modules, one job each (all pure functions of arrays except the file reader and the CLI):

* :mod:`~printserver.gsdf.gsdf`: L(j) and j(L), PS3.14 §7.1 (eq. 7-1, 7-2), P-values ↔ luminance;
* :mod:`~printserver.gsdf.hardcopy`: film (§7.2) and paper (§7.3), P-values ↔ optical density;
* :mod:`~printserver.gsdf.softcopy`: display targets with ambient light (L' = L + Lamb);
* :mod:`~printserver.gsdf.target`: the target curve of N P-values for a display or a film;
* :mod:`~printserver.gsdf.plut`: Presentation LUTs (PS3.3 C.11.4) and Polarity (C.13.5);
* :mod:`~printserver.gsdf.pipeline`: stored pixel → OD for a print (PS3.4 H.2.1.2): ``od_lut``;
* :mod:`~printserver.gsdf.curves`: characteristic curves (DCMTK text format, CSV);
* :mod:`~printserver.gsdf.calibration`: LUTs that make a measured device follow the GSDF;
* :mod:`~printserver.gsdf.conformance`: display QC, the TG18 18-point luminance response (κ against
  the GSDF), L'max, LR', ambient ratio;
* :mod:`~printserver.gsdf.uniformity`: display luminance uniformity (TG18 / TG270);
* :mod:`~printserver.gsdf.qc_limits`: display classes, QC limits and their sources, checks;
* :mod:`~printserver.gsdf.readings`: luminance readings as CSV (``ddl,luminance``);
* :mod:`~printserver.gsdf.display_lut`: a display's LUT from its readings; CSV, DCMTK and
  ArgyllCMS ``.cal`` text;
* :mod:`~printserver.gsdf.cli`: ``printserver gsdf curve`` and ``printserver gsdf lut``.
"""
