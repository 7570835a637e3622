"""A DICOM image file or a test pattern → the pixels a Basic Grayscale Image Box receives.

PS3.4 H.2.1.2: the printer applies only Polarity and its Presentation LUT, so the SCU sends
"presentation-ready" values. For a file, :func:`load_print_image`:

1. decodes the first frame (native or compressed; JPEG 2000 decodes with Pillow, a core
   dependency, or with pylibjpeg-openjpeg when installed; a transfer syntax with no decoder is a
   clear error before anything is sent);
2. applies the Modality LUT (Rescale Slope/Intercept or Modality LUT Sequence, PS3.3 C.11.1);
3. applies the VOI (PS3.3 C.11.2): the *first* Window Center/Width with its VOI LUT Function,
   else the first VOI LUT Sequence item, else the image's minimum → black and maximum → white
   (pixels of the Pixel Padding Value left out of that range);
4. inverts MONOCHROME1 (minimum is white) so that the result is MONOCHROME2;
5. quantizes to 12 bits (Bits Allocated 16, Bits Stored 12) or 8 bits.

For enhanced multi-frame images the rescale and window of the first frame are read from the
Shared (else Per-Frame) Functional Groups when they are not at the top level.

Refused, with a message naming the file: files that are not DICOM or have no pixel data, colour
images (Samples per Pixel > 1, RGB, YBR, PALETTE COLOR: a grayscale film printer cannot show
colour, and converting to luminance would silently drop what the colour meant, e.g. Doppler flow),
images larger than :data:`MAX_DIMENSION` in either direction. Multi-frame images print their
first frame only (a log line says so).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_voi, get_decoder, pixel_array

from printserver.errors import PrintserverError
from printserver.layout.patterns import PATTERNS
from printserver.scu import grayscale

log = logging.getLogger(__name__)

#: rows or columns beyond this are refused (printserver's own SCP default limit; a 14 × 17 inch
#: film at 508 dpi is 7112 × 8636 pixels, so a larger image cannot print without decimation)
MAX_DIMENSION = 8192

#: side of a generated test pattern, pixels
PATTERN_SIZE = 1024

_GRAYSCALE = ("MONOCHROME1", "MONOCHROME2")
#: attributes of the grayscale pipeline that enhanced multi-frame images keep in functional groups
_FRAME_GROUPS = {
    "PixelValueTransformationSequence": ("RescaleSlope", "RescaleIntercept", "RescaleType"),
    "FrameVOILUTSequence": ("WindowCenter", "WindowWidth", "VOILUTFunction"),
}


class ImageError(PrintserverError):
    """An image file that cannot be printed; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class PrintImage:
    """Pixels for one Basic Grayscale Image Box (PS3.4 H.4.3.1), MONOCHROME2.

    Attributes
    ----------
    pixels : numpy.ndarray
        ``(rows, columns)``; ``uint16`` holding 12-bit values or ``uint8``.
    bits_stored : int
        12 (sent as Bits Allocated 16, High Bit 11) or 8.
    source : str
        The file name or ``pattern NAME``.
    voi : str
        How the values were windowed (for the log and the report).
    aspect_ratio : tuple of int, optional
        Pixel Aspect Ratio (0028,0034) row\\column when not 1:1.
    configuration_information : str, optional
        Configuration Information (2010,0150) of this image box, sent unchanged.
    """

    pixels: np.ndarray
    bits_stored: int
    source: str
    voi: str = ""
    aspect_ratio: tuple[int, int] | None = None
    configuration_information: str | None = None

    @property
    def rows(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def columns(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def nbytes(self) -> int:
        return int(self.pixels.nbytes)


@dataclass(frozen=True)
class ImageSource:
    """An image to print, checked but not yet decoded: :meth:`load` decodes it when it is sent,
    so that a long list of files does not sit in memory all at once."""

    name: str
    loader: Callable[[], PrintImage]

    def load(self) -> PrintImage:
        return self.loader()


def check_image_file(path: str | Path) -> Dataset:
    """Read a file's header and refuse what cannot be printed (see the module docstring).

    Returns the data set without pixel data. Raises :class:`ImageError`.
    """
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        raise ImageError(path, "not a DICOM file (no DICM preamble)") from None
    except FileNotFoundError:
        raise ImageError(path, "no such file") from None
    except IsADirectoryError:
        raise ImageError(path, "is a folder, not a DICOM file") from None
    except OSError as exc:
        raise ImageError(path, f"cannot read: {exc.strerror or exc}") from None
    except (ValueError, EOFError, KeyError, TypeError) as exc:  # malformed elements
        raise ImageError(path, f"malformed DICOM: {exc}") from None
    if "Rows" not in ds or "Columns" not in ds or "PhotometricInterpretation" not in ds:
        raise ImageError(path, "not an image (no Rows, Columns or Photometric Interpretation)")
    photometric = str(ds.PhotometricInterpretation).strip().upper()
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if samples != 1 or photometric not in _GRAYSCALE:
        raise ImageError(path, f"colour image ({photometric}, {samples} samples per pixel): the "
                               "Basic Grayscale Image Box prints MONOCHROME1/2 only; convert it "
                               "to grayscale first")
    rows, columns = int(ds.Rows), int(ds.Columns)
    if not (0 < rows <= MAX_DIMENSION and 0 < columns <= MAX_DIMENSION):
        raise ImageError(path, f"image is {columns} × {rows} pixels; the print limit is "
                               f"{MAX_DIMENSION} × {MAX_DIMENSION}")
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if syntax is not None and syntax.is_compressed:
        try:
            decoder = get_decoder(syntax)
        except NotImplementedError:
            raise ImageError(path, f"no decoder for transfer syntax {syntax.name}") from None
        if not decoder.is_available:
            raise ImageError(path, f"{syntax.name} cannot be decoded here: "
                                   + "; ".join(decoder.missing_dependencies))
    return ds


def image_source(path: str | Path, bits_stored: int = 12) -> ImageSource:
    """Check ``path`` now (:func:`check_image_file`) and decode it later."""
    check_image_file(path)
    return ImageSource(str(path), lambda: load_print_image(path, bits_stored))


def load_print_image(path: str | Path, bits_stored: int = 12) -> PrintImage:
    """Decode ``path`` and turn its first frame into print values (module docstring, steps 1–5).

    Raises :class:`ImageError`.
    """
    header = check_image_file(path)
    frames = int(header.get("NumberOfFrames", 1) or 1)
    try:
        ds = pydicom.dcmread(path)
        stored = pixel_array(ds, index=0 if frames > 1 else None)
    except (ValueError, RuntimeError, NotImplementedError, AttributeError, KeyError,
            TypeError, OSError) as exc:
        raise ImageError(path, f"cannot decode the pixel data: {exc}") from None
    if frames > 1:
        log.warning("%s: %d frames, printing the first", path, frames)
    if stored.ndim != 2:
        raise ImageError(path, f"unexpected pixel array shape {stored.shape}")
    attrs = _frame_attributes(ds)
    padding = _padding(stored, ds)
    try:
        values = apply_modality_lut(stored, attrs)
        normalised, voi = _voi(values, attrs, padding)
    except ValueError as exc:
        raise ImageError(path, str(exc)) from None
    if str(ds.PhotometricInterpretation).strip().upper() == "MONOCHROME1":
        normalised = grayscale.invert(normalised)
        voi += ", MONOCHROME1 inverted"
    return PrintImage(grayscale.quantize(normalised, bits_stored), bits_stored, str(path), voi,
                      _aspect_ratio(ds))


def pattern_image(name: str, bits_stored: int = 12, size: int = PATTERN_SIZE) -> PrintImage:
    """A generated test pattern (:data:`printserver.layout.patterns.PATTERNS`) as a print image;
    the pattern's stored values are already MONOCHROME2 print values."""
    try:
        generate = PATTERNS[name.upper()]
    except KeyError:
        raise PrintserverError(f"unknown test pattern {name!r} (known: {', '.join(PATTERNS)})"
                               ) from None
    pixels = generate(size=size, bits_stored=bits_stored)
    return PrintImage(pixels.astype(np.uint8 if bits_stored == 8 else np.uint16), bits_stored,
                      f"pattern {name.upper()}", "pattern values")


def _frame_attributes(ds: Dataset) -> Dataset:
    """The data set with the first frame's rescale and window (PS3.3 C.7.6.16) copied to the top
    level when only the functional groups carry them."""
    if "PerFrameFunctionalGroupsSequence" not in ds and "SharedFunctionalGroupsSequence" not in ds:
        return ds
    groups = [g for seq in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence")
              for g in ds.get(seq, [])[:1]]
    for macro, keywords in _FRAME_GROUPS.items():
        if any(k in ds for k in keywords):
            continue
        for group in groups:
            if macro in group and len(group[macro].value):
                item = group[macro].value[0]
                for keyword in keywords:
                    if keyword in item:
                        setattr(ds, keyword, item[keyword].value)
                break
    return ds


def _first(value: object) -> float:
    if isinstance(value, (list, tuple, MultiValue)):
        value = value[0]
    return float(value)  # type: ignore[arg-type]


def _padding(stored: np.ndarray, ds: Dataset) -> np.ndarray | None:
    """Pixels equal to Pixel Padding Value, or within Pixel Padding Value … Pixel Padding Range
    Limit (stored values, PS3.3 C.7.5.1.1.2); None when the image has no padding."""
    if ds.get("PixelPaddingValue") is None:
        return None
    a = int(_first(ds.PixelPaddingValue))
    b = int(_first(ds.get("PixelPaddingRangeLimit", a)))
    lo, hi = min(a, b), max(a, b)
    mask = (stored >= lo) & (stored <= hi)
    return mask if mask.any() else None


def _voi(values: np.ndarray, ds: Dataset, padding: np.ndarray | None = None
         ) -> tuple[np.ndarray, str]:
    """PS3.3 C.11.2: the first window, else the first VOI LUT, else min/max (padding left out of
    the range)."""
    if ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None:
        center, width = _first(ds.WindowCenter), _first(ds.WindowWidth)
        function = str(ds.get("VOILUTFunction", "") or "LINEAR")
        return (grayscale.window(values, center, width, function),
                f"window {center:g}/{width:g}" + ("" if function == "LINEAR" else f" {function}"))
    if ds.get("VOILUTSequence"):
        item = ds.VOILUTSequence[0]
        bits = int(item.LUTDescriptor[2])
        only_lut = Dataset()
        only_lut.VOILUTSequence = ds.VOILUTSequence
        return grayscale.lut_output(apply_voi(values, only_lut, 0), bits), "VOI LUT"
    if padding is not None:
        return grayscale.min_max(values, padding), "min/max without padding"
    return grayscale.min_max(values), "min/max"


def _aspect_ratio(ds: Dataset) -> tuple[int, int] | None:
    """Pixel Aspect Ratio (0028,0034) row\\column, from the file's own or from unequal Pixel
    Spacing / Imager Pixel Spacing (row spacing \\ column spacing); None for 1:1."""
    ratio = ds.get("PixelAspectRatio")
    if ratio is not None and len(ratio) == 2:
        pair = (int(ratio[0]), int(ratio[1]))
    else:
        spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
        if spacing is None or len(spacing) != 2 or float(spacing[1]) <= 0:
            return None
        frac = Fraction(float(spacing[0]) / float(spacing[1])).limit_denominator(100)
        pair = (frac.numerator, frac.denominator)
    if pair[0] <= 0 or pair[1] <= 0 or pair[0] == pair[1]:
        return None
    return pair
