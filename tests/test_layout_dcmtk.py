"""End to end: DCMTK's dcmpsprt + dcmprscu print to ``printserver serve``; the stored job renders
to a PDF whose film matches the request (issue 4, Acceptance)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from conftest import require_tool
from dcmtk_print import FilmOptions, PrinterProfile, pattern, render, spool, write_config, write_image
from printserver.config import load_config
from printserver.jobs.spool import Spool
from printserver.layout.compose import render_film
from printserver.layout.job_render import iter_films, render_job

pytestmark = pytest.mark.dcmtk

CONFIG = """
[[printers]]
ae_title = "FILMPDF"
resolution_dpi = { STANDARD = 50, HIGH = 100 }
"""


def test_dcmtk_job_renders_to_the_requested_film(print_scp_factory, tmp_path: Path) -> None:
    for tool in ("dcmpsprt", "dcmprscu"):
        require_tool(tool)
    scp = print_scp_factory(CONFIG)
    cfg = write_config(tmp_path / "scu", [PrinterProfile(ae_title=scp.ae_title, host=scp.host,
                                                         port=scp.port)])
    files = [write_image(tmp_path / f"i{k}.dcm", pattern(48, 40, 12, seed=k), 12)
             for k in range(4)]
    stored = render(cfg, files, FilmOptions(columns=2, rows=2, film_size="14INX17IN",
                                            magnification="REPLICATE", plut_shape="LIN OD",
                                            border_density="WHITE", max_density=250))
    spool(cfg, stored).assert_ok()
    with scp.store() as store:
        (job,) = store.list()
    jobs_spool = Spool(Path(scp.data_dir) / "spool")
    manifest = jobs_spool.load_manifest(job)
    printer = load_config(scp.config_path).printers[0]

    def load(film: int, position: int) -> np.ndarray:
        return jobs_spool.load_pixels(job, film, position, manifest)

    out = render_job(manifest, load, printer, tmp_path / "films")
    (pdf,) = out.pdf_files  # one film, one copy
    (page,) = PdfReader(pdf).pages
    assert float(page.mediabox.width) * 25.4 / 72 == pytest.approx(355.6, abs=0.1)
    assert float(page.mediabox.height) * 25.4 / 72 == pytest.approx(431.8, abs=0.1)

    # the film itself: four images, one per quadrant, densities linear in the sent values
    ((_, film, images),) = list(iter_films(manifest, load))
    rendered = render_film(film, images, printer)
    assert rendered.raster.shape == (850, 700)  # 14 x 17 inches at 50 dpi
    assert sorted(p.image_box_position for p in rendered.placements) == [1, 2, 3, 4]
    for placement in rendered.placements:
        quadrant_x = 0 if placement.image_box_position in (1, 3) else 1
        quadrant_y = 0 if placement.image_box_position in (1, 2) else 1
        t = placement.target
        assert (t.x + t.width // 2) // 350 == quadrant_x
        assert (t.y + t.height // 2) // 425 == quadrant_y
        sent = load(1, placement.image_box_position).astype(float)
        od = rendered.od(t)
        # LIN OD between 0.20 and 2.50: the film's mean density follows the mean sent value
        expected = 0.20 + sent.mean() / 4095 * (2.50 - 0.20)
        assert od.mean() == pytest.approx(expected, abs=0.05)
    assert rendered.raster[0, 0] == 200  # border WHITE = Min Density
