import pytest

from printserver.vocabulary import (FILM_SIZES, ImageDisplayFormat, Polarity, PresentationLUTShape,
                                    Status, VocabularyError, film_size, parse_density)


def test_film_sizes_in_mm():
    assert film_size("14INX17IN").width_mm == pytest.approx(355.6)
    assert film_size("14inx17in").height_mm == pytest.approx(431.8)
    assert film_size("A4").width_mm == 210.0
    assert len(FILM_SIZES) == 12
    with pytest.raises(VocabularyError, match="Film Size ID"):
        film_size("13INX18IN")


@pytest.mark.parametrize("text,kind,counts,boxes", [
    ("STANDARD\\2,3", "STANDARD", (2, 3), 6),
    ("ROW\\1,2,3", "ROW", (1, 2, 3), 6),
    ("COL\\2,1", "COL", (2, 1), 3),
    ("standard\\1,1", "STANDARD", (1, 1), 1),
])
def test_image_display_format_parse(text, kind, counts, boxes):
    fmt = ImageDisplayFormat.parse(text)
    assert (fmt.kind, fmt.counts, fmt.box_count) == (kind, counts, boxes)


@pytest.mark.parametrize("text", ["STANDARD\\0,2", "STANDARD\\2", "ROW\\", "DIAGONAL\\2,2",
                                  "STANDARD\\30,30", "SLIDE"])
def test_image_display_format_rejects(text):
    with pytest.raises(VocabularyError, match="Image Display Format"):
        ImageDisplayFormat.parse(text)


def test_named_formats_resolve_and_keep_text():
    fmt = ImageDisplayFormat.resolve("CUSTOM\\1", {"CUSTOM\\1": "ROW\\1,2"})
    assert fmt.kind == "ROW" and fmt.box_count == 3 and fmt.text == "CUSTOM\\1"
    with pytest.raises(VocabularyError):
        ImageDisplayFormat.resolve("CUSTOM\\9", {"CUSTOM\\1": "ROW\\1,2"})


def test_enumerations():
    assert PresentationLUTShape.parse("lin od") is PresentationLUTShape.LIN_OD
    assert Polarity.parse("REVERSE") == "REVERSE"
    with pytest.raises(VocabularyError, match="Polarity"):
        Polarity.parse("UPSIDEDOWN", "Polarity")
    assert parse_density("150", "Border Density") == 150
    assert parse_density("white", "Border Density") == "WHITE"
    with pytest.raises(VocabularyError):
        parse_density("GREY", "Border Density")


def test_status_categories():
    assert Status.DENSITY_OUT_OF_RANGE.is_warning
    assert Status.ATTRIBUTE_LIST_ERROR.is_warning
    assert Status.NO_FILM_BOX.is_failure
    assert Status.INVALID_ATTRIBUTE_VALUE.is_failure
    assert not Status.SUCCESS.is_failure
