"""QC records: displays and their QC sessions, printer calibrations, film constancy; their plots,
reports and downloads. Everything below the QC pages, so that a page only parses its input, calls a
service and renders what it returns (``docs/qc.md``).

Modules, one job each:

* :mod:`~printserver.qc.services`: :class:`QCServices`, the one object the web and the API use,
  and the dashboard's :meth:`~QCServices.out_of_limit`;
* :mod:`~printserver.qc.displays`: the display registry;
* :mod:`~printserver.qc.sessions`: display QC sessions (check, evaluate with
  :mod:`printserver.gsdf.conformance` / :mod:`~printserver.gsdf.uniformity`, save);
* :mod:`~printserver.qc.printer_calibration`: the step wedge and the printer calibration versions
  (stored by :mod:`printserver.jobs.printer_calibrations`, applied by the render worker);
* :mod:`~printserver.qc.constancy`: film constancy against baselines;
* :mod:`~printserver.qc.plots` and :mod:`~printserver.qc.svg`: the plots, drawn once with
  reportlab's graphics, as SVG for pages and as vector graphics in the reports;
* :mod:`~printserver.qc.reports`: the PDF reports; :mod:`~printserver.qc.downloads`: the files a
  page offers;
* :mod:`~printserver.qc.records`, :mod:`~printserver.qc.store`, :mod:`~printserver.qc.fields`,
  :mod:`~printserver.qc.errors`: the records, their tables, input checking, errors.

The QC tables live in the job store's database (``printserver.jobs.schema``, revision 0004).
"""

from printserver.qc.services import OutOfLimit, QCServices

__all__ = ["OutOfLimit", "QCServices"]
