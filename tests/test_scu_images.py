"""Print SCU images: DICOM files → print values (PS3.3 C.11 Modality LUT, VOI, MONOCHROME1).

The window formulas are checked against values worked out by hand from PS3.3 C.11.2.1.2; the
files are pydicom's bundled test images (CT with and without a window, JPEG 2000, RLE) and small
files written here for the cases the bundle lacks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from printserver.errors import PrintserverError
from printserver.layout.patterns import PATTERNS, tg18_qc_like
from printserver.scu import grayscale
from printserver.scu.images import (MAX_DIMENSION, ImageError, check_image_file,
                                    load_print_image, pattern_image)

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def write(path: Path, pixels: np.ndarray, **attrs) -> Path:
    """A Secondary Capture file with ``pixels`` and extra attributes."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    frames = pixels.shape[0] if pixels.ndim == 3 else 1
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = pixels.shape[-2:]
    signed = pixels.dtype.kind == "i"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if signed else 0
    ds.PixelData = pixels.astype("<i2" if signed else "<u2").tobytes()
    for k, v in attrs.items():
        setattr(ds, k, v)
    ds.save_as(path, enforce_file_format=True)
    return path


# --- the formulas ------------------------------------------------------------------------------

def test_window_linear_by_hand():
    # c = 40, w = 100: y = (x - 39.5) / 99 + 0.5, 0 at x <= -10, 1 at x > 89
    x = np.array([-1000, -10, -9, 39.5, 89, 90, 3000])
    y = grayscale.window_linear(x, 40, 100)
    assert np.allclose(y, [0, 0, 1 / 99, 0.5, 1, 1, 1])
    assert np.array_equal(grayscale.window_linear(np.array([9, 10, 11]), 10, 1), [0, 1, 1])
    with pytest.raises(ValueError):
        grayscale.window_linear(x, 40, 0.5)


def test_window_exact_sigmoid_and_quantize():
    x = np.array([-10.0, 40.0, 90.0])
    assert np.allclose(grayscale.window_linear_exact(x, 40, 100), [0, 0.5, 1])
    assert np.allclose(grayscale.window(x, 40, 100, "SIGMOID"),
                       1 / (1 + np.exp([200 / 100, 0, -200 / 100])))
    with pytest.raises(ValueError, match="VOI LUT Function"):
        grayscale.window(x, 40, 100, "LOG")
    q = grayscale.quantize(np.array([0.0, 0.5, 1.0, 1.5]), 12)
    assert q.dtype == np.uint16 and list(q) == [0, 2048, 4095, 4095]
    assert list(grayscale.quantize(np.array([0.0, 1.0]), 8)) == [0, 255]
    with pytest.raises(ValueError):
        grayscale.quantize(np.array([0.0]), 10)


# --- real files ---------------------------------------------------------------------------------

def test_jpeg2000_ct_window_from_the_file():
    """693_J2KI: JPEG 2000 CT, Rescale -1024, window 40/100 → exactly the PS3.3 LINEAR window."""
    path = TEST_FILES / "693_J2KI.dcm"
    img = load_print_image(path, 12)
    ds = pydicom.dcmread(path)
    hu = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    want = np.rint(np.clip((hu - 39.5) / 99 + 0.5, 0, 1) * 4095).astype(np.uint16)
    assert img.pixels.dtype == np.uint16 and img.bits_stored == 12
    assert np.array_equal(img.pixels, want)
    assert img.voi == "window 40/100"
    assert img.pixels.min() == 0 and img.pixels.max() == 4095  # air black, bone white


def test_ct_without_window_prints_min_to_max():
    img = load_print_image(TEST_FILES / "CT_small.dcm", 8)
    raw = pydicom.dcmread(TEST_FILES / "CT_small.dcm").pixel_array.astype(np.float64)
    want = np.rint((raw - raw.min()) / (raw.max() - raw.min()) * 255).astype(np.uint8)
    assert img.voi == "min/max" and img.pixels.dtype == np.uint8
    assert np.array_equal(img.pixels, want)


def test_rle_and_native_mr_give_the_same_print():
    a = load_print_image(TEST_FILES / "MR_small.dcm")
    b = load_print_image(TEST_FILES / "MR_small_RLE.dcm")
    assert a.voi == "window 600/1600" and np.array_equal(a.pixels, b.pixels)


def test_monochrome1_is_inverted(tmp_path):
    px = np.array([[0, 100], [200, 300]], dtype=np.uint16)
    m1 = load_print_image(write(tmp_path / "m1.dcm", px, PhotometricInterpretation="MONOCHROME1"))
    m2 = load_print_image(write(tmp_path / "m2.dcm", px))
    assert m2.pixels.tolist() == [[0, 1365], [2730, 4095]]
    assert (m1.pixels.astype(int) + m2.pixels).tolist() == [[4095, 4095], [4095, 4095]]
    assert "MONOCHROME1 inverted" in m1.voi


def test_voi_lut_sequence_and_first_window(tmp_path):
    px = np.array([[0, 1], [2, 3]], dtype=np.uint16)
    lut = Dataset()
    lut.add_new(0x00283002, "US", [4, 0, 8])  # LUT Descriptor: 4 entries from 0, 8-bit output
    lut.add_new(0x00283006, "US", [0, 255, 51, 102])  # LUT Data
    img = load_print_image(write(tmp_path / "lut.dcm", px, VOILUTSequence=[lut]), 12)
    assert img.voi == "VOI LUT"
    assert img.pixels.tolist() == [[0, 4095], [819, 1638]]
    # two windows: the first is used
    two = write(tmp_path / "two.dcm", px, WindowCenter=[2, 100], WindowWidth=[3, 10])
    assert load_print_image(two).voi == "window 2/3"


def test_enhanced_functional_groups_and_first_frame(tmp_path):
    frames = np.stack([np.full((4, 4), v, np.uint16) for v in (10, 20, 30)])
    frames[0, 0, 0] = 0
    transform, voi = Dataset(), Dataset()
    transform.RescaleSlope, transform.RescaleIntercept = 2, -10
    voi.WindowCenter, voi.WindowWidth = 5, 11  # modality 10 → (10 - 4.5) / 10 + 0.5 → 1
    shared = Dataset()
    shared.PixelValueTransformationSequence = [transform]
    shared.FrameVOILUTSequence = [voi]
    img = load_print_image(write(tmp_path / "mf.dcm", frames,
                                 SharedFunctionalGroupsSequence=[shared]))
    assert img.voi == "window 5/11"
    assert img.pixels[0, 0] == 0 and img.pixels[1, 1] == 4095  # first frame: values 0 and 10


def test_min_max_leaves_pixel_padding_out(tmp_path):
    # CT-like: padding -2000 outside the field of view, tissue -1000 … 1000
    px = np.array([[-2000, -1000], [0, 1000]], dtype=np.int16)
    img = load_print_image(write(tmp_path / "pad.dcm", px, PixelPaddingValue=-2000))
    assert img.voi == "min/max without padding"
    assert img.pixels.tolist() == [[0, 0], [2048, 4095]]
    no_pad = load_print_image(write(tmp_path / "nopad.dcm", px))
    assert no_pad.pixels.tolist() == [[0, 1365], [2730, 4095]]


def test_aspect_ratio_from_pixel_spacing(tmp_path):
    px = np.zeros((2, 2), np.uint16)
    assert load_print_image(write(tmp_path / "a.dcm", px, PixelSpacing=[0.5, 0.25])
                            ).aspect_ratio == (2, 1)
    assert load_print_image(write(tmp_path / "b.dcm", px, PixelSpacing=[0.3, 0.3])
                            ).aspect_ratio is None


def test_refusals_name_the_file(tmp_path):
    text = tmp_path / "notes.dcm"
    text.write_text("not an image\n")
    with pytest.raises(ImageError, match="notes.dcm: not a DICOM file"):
        check_image_file(text)
    with pytest.raises(ImageError, match="no such file"):
        check_image_file(tmp_path / "missing.dcm")
    with pytest.raises(ImageError, match=r"colour image \(RGB, 3 samples"):
        check_image_file(TEST_FILES / "SC_rgb_small_odd.dcm")
    with pytest.raises(ImageError, match="PALETTE COLOR"):
        check_image_file(TEST_FILES / "examples_palette.dcm")
    big = write(tmp_path / "big.dcm", np.zeros((1, MAX_DIMENSION + 1), np.uint16))
    with pytest.raises(ImageError, match="print limit"):
        check_image_file(big)
    with pytest.raises(ImageError, match="not an image"):
        check_image_file(TEST_FILES / "rtplan.dcm")


def test_patterns_registry():
    assert "TG18-QC" in PATTERNS
    img = pattern_image("tg18-qc", 8, size=512)
    assert img.pixels.dtype == np.uint8
    assert np.array_equal(img.pixels, tg18_qc_like(512, 8))
    with pytest.raises(PrintserverError, match="unknown test pattern"):
        pattern_image("SMPTE")
