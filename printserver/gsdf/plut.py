"""Presentation LUTs and Polarity: the last grayscale steps before P-values.

* PS3.3 C.11.4 (Presentation LUT Module, print) and PS3.4 H.4.9 (Presentation LUT SOP Class): either a
  Presentation LUT Shape (2050,0020) ``IDENTITY`` / ``LIN OD`` (``INVERSE`` from the softcopy module,
  PS3.3 C.11.6.1.2) or a Presentation LUT Sequence (2050,0010) with one item holding LUT Descriptor
  (0028,3002) and LUT Data (0028,3006).
* PS3.3 C.11.4.1: the descriptor is (number of entries, 0 meaning 65536; first input value mapped,
  always 0; bits per entry, 10 … 16). The number of entries must match the image's bit depth
  (256 entries ↔ 8-bit, 4096 ↔ 12-bit); a shape matches any depth.
* PS3.3 C.13.5: Polarity (2020,0020) ``REVERSE`` prints pixels with the opposite polarity.

:class:`PresentationLUT` is a frozen record: build it with :meth:`PresentationLUT.from_shape` or
:meth:`PresentationLUT.from_table`; both validate and raise errors naming the attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from printserver.errors import ParameterError
from printserver.vocabulary import PhotometricInterpretation, Polarity, PresentationLUTShape

#: PS3.3 C.11.4.1: bits per LUT Data entry of a print Presentation LUT
PRINT_LUT_BITS = (10, 16)
#: PS3.3 C.11.6.1.1 (softcopy) allows 8 … 16 bits per entry
SOFTCOPY_LUT_BITS = (8, 16)


@dataclass(frozen=True, eq=False)
class PresentationLUT:
    """A Presentation LUT: a shape, or an explicit table (PS3.3 C.11.4, C.11.6).

    Attributes
    ----------
    shape : PresentationLUTShape or None
        ``IDENTITY``, ``LIN OD`` or ``INVERSE`` when the LUT is a shape; None for a table.
    descriptor : tuple of int or None
        LUT Descriptor (0028,3002) as (entries, first mapped value, bits per entry), with the
        entries already expanded (0 → 65536).
    data : numpy.ndarray or None
        LUT Data (0028,3006): read-only uint16 P-values, one per entry.
    explanation : str
        LUT Explanation (0028,3003).
    """

    shape: PresentationLUTShape | None = None
    descriptor: tuple[int, int, int] | None = None
    data: np.ndarray | None = field(default=None, repr=False)
    explanation: str = ""

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def identity(cls) -> "PresentationLUT":
        """Presentation LUT Shape IDENTITY: the input is already in P-values (PS3.3 C.11.4)."""
        return cls(shape=PresentationLUTShape.IDENTITY)

    @classmethod
    def from_shape(cls, shape: str | PresentationLUTShape) -> "PresentationLUT":
        """From a Presentation LUT Shape (2050,0020) value: ``IDENTITY``, ``LIN OD`` or ``INVERSE``.

        Raises
        ------
        printserver.vocabulary.VocabularyError
            Not one of the enumerated values (the message names Presentation LUT Shape).
        """
        return cls(shape=PresentationLUTShape.parse(str(shape), "Presentation LUT Shape (2050,0020)"))

    @classmethod
    def from_table(cls, descriptor: ArrayLike, data: ArrayLike | bytes, explanation: str = "",
                   softcopy: bool = False) -> "PresentationLUT":
        """From LUT Descriptor (0028,3002) and LUT Data (0028,3006) (PS3.3 C.11.4.1).

        Parameters
        ----------
        descriptor : sequence of 3 int
            (number of entries, 0 meaning 65536; first input value mapped, 0; bits per entry).
        data : array_like or bytes
            The entries (P-values 0 … 2**bits − 1); ``bytes`` are read as little-endian 16-bit words
            (OW as it arrives in an explicit or implicit little-endian dataset).
        softcopy : bool
            Allow 8 … 16 bits per entry (PS3.3 C.11.6) instead of the print module's 10 … 16.

        Raises
        ------
        ParameterError
            Naming ``LUT Descriptor (0028,3002)`` or ``LUT Data (0028,3006)`` and what is wrong.
        """
        desc_name = "LUT Descriptor (0028,3002)"
        values = list(np.asarray(descriptor).ravel().tolist()) if not isinstance(descriptor, (bytes, str)) else []
        if len(values) != 3 or any(int(v) != v for v in values):
            raise ParameterError(desc_name, f"must be three integers (entries, first mapped, bits); got {descriptor!r}")
        entries, first, bits = (int(v) for v in values)
        if entries == 0:
            entries = 65536
        if not 1 <= entries <= 65536:
            raise ParameterError(desc_name, f"number of entries must be 0 (65536) … 65535; got {values[0]}")
        if first != 0:
            raise ParameterError(desc_name, f"first input value mapped must be 0 (PS3.3 C.11.4.1); got {first}")
        low, high = SOFTCOPY_LUT_BITS if softcopy else PRINT_LUT_BITS
        if not low <= bits <= high:
            raise ParameterError(desc_name, f"bits per entry must be {low} … {high}; got {bits}")
        data_name = "LUT Data (0028,3006)"
        if isinstance(data, (bytes, bytearray, memoryview)):
            raw = bytes(data)
            if len(raw) % 2:
                raise ParameterError(data_name, f"odd number of bytes ({len(raw)}) for 16-bit entries")
            table = np.frombuffer(raw, dtype="<u2").astype(np.int64)
        else:
            table = np.asarray(data)
            if table.ndim != 1 or not (np.issubdtype(table.dtype, np.integer)
                                       or (table.size and np.all(np.mod(table, 1) == 0))):
                raise ParameterError(data_name, "must be a one-dimensional sequence of integers")
            table = table.astype(np.int64)
        if table.size != entries:
            raise ParameterError(data_name, f"has {table.size} entries but the LUT Descriptor says {entries}")
        if table.min() < 0 or table.max() > (1 << bits) - 1:
            raise ParameterError(data_name, f"entries must be within 0 … {(1 << bits) - 1} "
                                            f"({bits} bits per entry); got {table.min()} … {table.max()}")
        table = table.astype(np.uint16)
        table.setflags(write=False)
        return cls(shape=None, descriptor=(entries, first, bits), data=table, explanation=explanation)

    # -- properties ---------------------------------------------------------------------------
    @property
    def entries(self) -> int | None:
        """Number of LUT entries of a table (65536 for a descriptor value of 0); None for a shape."""
        return None if self.descriptor is None else self.descriptor[0]

    @property
    def output_bits(self) -> int | None:
        """Bits of the P-values a table produces; None for a shape (its P-values have the input's bits)."""
        return None if self.descriptor is None else self.descriptor[2]

    def matches(self, bits_stored: int) -> bool:
        """PS3.4 H.4.9 / PS3.3 C.11.4.1 match rule: a table must have exactly 2**bits_stored entries
        (256 for 8-bit, 4096 for 12-bit images); a shape matches any bit depth."""
        return self.data is None or self.entries == (1 << int(bits_stored))

    def check_matches(self, bits_stored: int) -> None:
        """Raise :class:`ParameterError` (naming LUT Descriptor) when :meth:`matches` is false."""
        if not self.matches(bits_stored):
            raise ParameterError("LUT Descriptor (0028,3002)",
                                 f"{self.entries} entries do not match {bits_stored}-bit image pixels "
                                 f"({1 << int(bits_stored)} entries needed)")

    def to_pvalues(self, values: ArrayLike, bits_stored: int) -> tuple[np.ndarray, int]:
        """Apply the LUT to input values 0 … 2**bits_stored − 1: returns (P-values, P-value bits).

        IDENTITY passes the values through, INVERSE gives ``max − v`` (PS3.3 C.11.6.1.2), a table
        looks each value up. ``LIN OD`` needs the film's densities and viewing conditions: use
        :func:`printserver.gsdf.pipeline.od_lut` for it.
        """
        v = np.asarray(values)
        vmax = (1 << int(bits_stored)) - 1
        if self.data is not None:
            self.check_matches(bits_stored)
            return self.data[np.clip(v, 0, self.entries - 1)], self.output_bits
        if self.shape is PresentationLUTShape.IDENTITY:
            return v, int(bits_stored)
        if self.shape is PresentationLUTShape.INVERSE:
            return vmax - v, int(bits_stored)
        raise ParameterError("Presentation LUT Shape (2050,0020)",
                             "LIN OD maps to densities, not P-values; use pipeline.od_lut")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PresentationLUT):
            return NotImplemented
        if self.shape != other.shape or self.descriptor != other.descriptor:
            return False
        return self.data is None or bool(np.array_equal(self.data, other.data))

    def __hash__(self) -> int:
        return hash((self.shape, self.descriptor,
                     None if self.data is None else self.data.tobytes()))


def invert_for_display(values: ArrayLike, bits_stored: int, photometric: str, polarity: str) -> np.ndarray:
    """Stored values → Presentation LUT input (PS3.4 H.2.1.2.3, PS3.3 C.13.5).

    MONOCHROME1 (minimum value white) is inverted to the MONOCHROME2 sense, ``v' = max − v``; then
    Polarity REVERSE inverts again. So a MONOCHROME1 image with REVERSE prints as it is stored.

    Raises
    ------
    printserver.vocabulary.VocabularyError
        Unknown Photometric Interpretation or Polarity (naming the attribute).
    """
    vmax = (1 << int(bits_stored)) - 1
    flips = PhotometricInterpretation.parse(photometric, "Photometric Interpretation (0028,0004)") \
        is PhotometricInterpretation.MONOCHROME1
    flips ^= Polarity.parse(polarity or Polarity.NORMAL, "Polarity (2020,0020)") is Polarity.REVERSE
    v = np.asarray(values)
    return vmax - v if flips else v
