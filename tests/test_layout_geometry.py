"""Film geometry and Image Display Format box rectangles (PS3.3 C.13.3, C.13.5.1)."""

import pytest

from printserver.config import PrinterConfig
from printserver.layout.film_layout import image_area_sizes, plan_film
from printserver.layout.geometry import Rect, film_geometry, image_box_rects, split_length
from printserver.layout.spec import FilmSpec
from printserver.layout.status import LayoutError
from printserver.vocabulary import FilmOrientation, ImageDisplayFormat, film_size


def test_14x17_at_508_dpi_is_7112_by_8636():
    g = film_geometry(film_size("14INX17IN"), FilmOrientation.PORTRAIT, 508)
    assert (g.columns, g.rows) == (7112, 8636)
    assert g.printable == Rect(0, 0, 7112, 8636)
    assert g.pixel_spacing_mm == pytest.approx(0.05)


def test_landscape_swaps_width_and_height():
    g = film_geometry(film_size("14INX17IN"), FilmOrientation.LANDSCAPE, 320)
    assert (g.width_mm, g.height_mm) == (431.8, 355.6)
    assert (g.columns, g.rows) == (5440, 4480)


def test_margins_shrink_the_printable_area():
    # 10INX12IN at 25.4 dpi is 254 x 305 px (1 px per mm); 5 mm margins
    g = film_geometry(film_size("10INX12IN"), FilmOrientation.PORTRAIT, 25.4, margin_mm=5)
    assert (g.columns, g.rows) == (254, 305)
    assert g.printable == Rect(5, 5, 244, 295)
    with pytest.raises(LayoutError, match="no printable area"):
        film_geometry(film_size("A4"), FilmOrientation.PORTRAIT, 25.4, margin_mm=200)


def test_split_length_is_exact_and_even():
    assert split_length(0, 300, 3, 0) == [(0, 100), (100, 100), (200, 100)]
    assert split_length(10, 210, 2, 10) == [(10, 100), (120, 100)]
    cells = split_length(0, 100, 3, 0)
    assert cells[0][0] == 0 and sum(w for _, w in cells) == 100
    assert max(w for _, w in cells) - min(w for _, w in cells) <= 1
    with pytest.raises(LayoutError, match="do not fit"):
        split_length(0, 10, 20, 0)


def test_standard_is_columns_by_rows_row_major():
    boxes = image_box_rects(ImageDisplayFormat.parse("STANDARD\\3,2"), Rect(0, 0, 300, 200))
    assert boxes == (Rect(0, 0, 100, 100), Rect(100, 0, 100, 100), Rect(200, 0, 100, 100),
                     Rect(0, 100, 100, 100), Rect(100, 100, 100, 100), Rect(200, 100, 100, 100))


def test_row_has_one_row_per_value_row_major():
    boxes = image_box_rects(ImageDisplayFormat.parse("ROW\\1,2"), Rect(0, 0, 200, 100))
    assert boxes == (Rect(0, 0, 200, 50), Rect(0, 50, 100, 50), Rect(100, 50, 100, 50))


def test_col_has_one_column_per_value_column_major():
    boxes = image_box_rects(ImageDisplayFormat.parse("COL\\1,2"), Rect(0, 0, 200, 100))
    assert boxes == (Rect(0, 0, 100, 100), Rect(100, 0, 100, 50), Rect(100, 50, 100, 50))


def test_gaps_only_between_boxes():
    boxes = image_box_rects(ImageDisplayFormat.parse("STANDARD\\2,1"), Rect(5, 5, 210, 50), gap=10)
    assert boxes == (Rect(5, 5, 100, 50), Rect(115, 5, 100, 50))


def _printer(**kw):
    kw.setdefault("resolution_dpi", {"STANDARD": 30, "HIGH": 60})
    kw.setdefault("image_box_gap_mm", 0.0)
    return PrinterConfig(**kw)


def test_plan_film_resolves_named_formats_and_resolution():
    layout = plan_film(FilmSpec("SLIDE", film_size_id="10INX12IN", requested_resolution_id="HIGH"),
                       _printer())
    assert layout.display_format.box_count == 20  # SLIDE = STANDARD\4,5 by default
    assert (layout.geometry.columns, layout.geometry.rows) == (600, 720)
    assert layout.image_boxes[0].box == Rect(0, 0, 150, 144)
    assert layout.image_boxes[4].box == Rect(0, 144, 150, 144)  # box 5 starts the second row


@pytest.mark.parametrize("film,match", [
    (FilmSpec("STANDARD\\1,1", film_size_id="13INX18IN"), "Film Size ID"),
    (FilmSpec("DIAGONAL\\2,2"), "Image Display Format"),
    (FilmSpec("CUSTOM\\7"), "Image Display Format"),
    (FilmSpec("STANDARD\\1,1", film_orientation="SIDEWAYS"), "Film Orientation"),
    (FilmSpec("STANDARD\\1,1", requested_resolution_id="ULTRA"), "Requested Resolution ID"),
])
def test_bad_film_attributes_raise_typed_errors(film, match):
    with pytest.raises(LayoutError, match=match) as info:
        plan_film(film, _printer())
    assert info.value.status == 0x0106


def test_label_line_takes_the_top_and_images_share_the_rest():
    # 10INX12IN at 25.4 dpi: 254 x 305 px; label line 6 mm = 6 px, gap 2 mm = 2 px
    printer = _printer(resolution_dpi={"STANDARD": 25.4}, image_box_gap_mm=2.0,
                       annotation_formats={"LABEL": 2})
    layout = plan_film(FilmSpec("STANDARD\\1,1", film_size_id="10INX12IN",
                                annotation_display_format_id="LABEL"), printer)
    assert layout.label_line == Rect(0, 0, 254, 6)
    assert layout.annotation_boxes == {1: Rect(0, 0, 127, 6), 2: Rect(127, 0, 127, 6)}
    assert layout.image_boxes[0].box == Rect(0, 8, 254, 297)


def test_bottom_puts_a_line_under_each_image_box():
    printer = _printer(resolution_dpi={"STANDARD": 25.4}, annotation_formats={"BOTTOM": 1})
    layout = plan_film(FilmSpec("STANDARD\\2,1", film_size_id="10INX12IN",
                                annotation_display_format_id="BOTTOM"), printer)
    first, second = layout.image_boxes
    assert first.caption == Rect(0, 299, 127, 6)
    assert first.image_area == Rect(0, 0, 127, 299)
    assert second.caption == Rect(127, 299, 127, 6)
    assert layout.annotation_boxes == {1: first.caption}  # only one box configured


def test_image_area_sizes_per_position():
    # 14INX17IN at 320 dpi: 4480 x 5440; STANDARD\\4,5 with 2 mm (25 px) gaps
    sizes = image_area_sizes(FilmSpec("STANDARD\\4,5", film_size_id="14INX17IN"), PrinterConfig())
    assert len(sizes) == 20
    assert sizes[0] == (1101, 1068)  # (4480 - 3*25) / 4 = 1101.25, (5440 - 4*25) / 5 = 1068
    assert all(abs(w - 1101.25) < 1 and h == 1068 for w, h in sizes)  # edges rounded, ±1 px
    with pytest.raises(LayoutError, match="image_box_gap_mm"):
        plan_film(FilmSpec("STANDARD\\1,1"), PrinterConfig(image_box_gap_mm=-1))
