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


def test_event_maps_cover_every_status_once():
    from printserver.vocabulary import (PRINT_JOB_EVENT_NAMES, PRINT_JOB_EVENT_TYPES,
                                        PRINTER_EVENT_NAMES, PRINTER_EVENT_TYPES,
                                        ExecutionStatus, PrinterStatus)

    # PS3.4 Table H.4-14 and Table H.4-16
    assert dict(PRINT_JOB_EVENT_TYPES) == {"PENDING": 1, "PRINTING": 2, "DONE": 3, "FAILURE": 4}
    assert dict(PRINTER_EVENT_TYPES) == {"NORMAL": 1, "WARNING": 2, "FAILURE": 3}
    assert set(PRINT_JOB_EVENT_TYPES) == set(ExecutionStatus)
    assert set(PRINTER_EVENT_TYPES) == set(PrinterStatus)
    assert PRINT_JOB_EVENT_NAMES[3] == "DONE" and PRINTER_EVENT_NAMES[2] == "WARNING"
    with pytest.raises(TypeError):
        PRINTER_EVENT_TYPES[PrinterStatus.NORMAL] = 9  # read-only


def test_status_terms_are_plain_strings_where_they_leave_us():
    from printserver.vocabulary import PrinterStatusInfo

    info = PrinterStatusInfo.PRINTER_OFFLINE
    assert info == "PRINTER OFFLINE" and str(info) == "PRINTER OFFLINE" and f"{info}" == info.value
    assert PrinterStatusInfo.parse("print buff full") is PrinterStatusInfo.PRINT_BUFF_FULL


def test_no_status_term_is_spelt_out_outside_the_vocabulary():
    """Printer Status and Printer Status Info terms (PS3.3 C.13.9) come from vocabulary.py."""
    import ast
    from pathlib import Path

    from printserver.vocabulary import PrinterStatus, PrinterStatusInfo

    terms = {t.value for t in (*PrinterStatus, *PrinterStatusInfo)}
    package = Path(__file__).resolve().parent.parent / "printserver"
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "vocabulary.py" or "migrations" in path.parts:
            continue  # a schema revision is history: it keeps the words it was written with
        tree = ast.parse(path.read_text("utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        found += [f"{path.relative_to(package)}:{node.lineno} {node.value!r}"
                  for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and node.value in terms
                  and id(node) not in docstrings]
    assert found == []
