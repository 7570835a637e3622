"""Film layout and rendering: Film Box + Image Boxes → a film raster in optical density → PDF / PNG.

Main entry points::

    from printserver.layout import FilmSpec, ImageSpec, render_film, write_pdf, write_png_preview

    film = render_film(FilmSpec(image_display_format="STANDARD\\\\2,2"), images, printer)
    write_pdf("film.pdf", [film], copies=1, title="job 12 on PRINTSCP")
    write_png_preview("film.png", film)

See ``docs/rendering.md`` for the operator's view (geometry, formats, magnification, densities,
annotations, the light-box model of the PDF).
"""

from printserver.layout.compose import RenderedFilm, render_film
from printserver.layout.device import LightBoxSRGB, MeasuredPrinterProfile
from printserver.layout.geometry import FilmGeometry, Rect, film_geometry, image_box_rects
from printserver.layout.film_layout import FilmLayout, plan_film
from printserver.layout.pdf import write_pdf
from printserver.layout.preview import write_png_preview
from printserver.layout.spec import FilmSpec, ImageSpec
from printserver.layout.status import LayoutError, RenderWarning

__all__ = [
    "FilmGeometry", "FilmLayout", "FilmSpec", "ImageSpec", "LayoutError", "LightBoxSRGB",
    "MeasuredPrinterProfile", "Rect", "RenderWarning", "RenderedFilm", "film_geometry",
    "image_box_rects", "plan_film", "render_film", "write_pdf", "write_png_preview",
]
