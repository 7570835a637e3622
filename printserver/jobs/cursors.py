"""Opaque cursors of keyset pagination: the sort key of a page's last row, as a URL-safe string.

Every listing of the job store that pages (jobs, associations, a printer's status history) orders
its rows by a unique key and continues after the key its previous page ended with. The key travels
as JSON in URL-safe base64 without padding, so that it fits in a query string as it is::

    cursor = encode("2026-01-05T10:00:00.000+00:00", "20260105-100000-ab12")
    created_at, job_id = decode(cursor, (str, str))
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

#: longest cursor accepted (a key of a few short values is far shorter)
MAX_LENGTH = 200


def encode(*key: str | int) -> str:
    """The cursor of a sort key."""
    text = json.dumps(list(key), separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str, kinds: Sequence[type]) -> tuple[Any, ...]:
    """The sort key of a cursor :func:`encode` made, each value of the type in ``kinds``.

    Raises
    ------
    ValueError
        Anything else: too long, not base64 or JSON, another number or type of values.
    """
    key = None
    if len(cursor) <= MAX_LENGTH:
        try:
            key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            key = None
    if not (isinstance(key, list) and len(key) == len(kinds)
            and all(type(value) is kind for value, kind in zip(key, kinds))):
        raise ValueError(f"cursor {cursor[:40]!r} is not one this listing gave: start again "
                         "without a cursor")
    return tuple(key)


def check_limit(limit: int, most: int) -> None:
    """ValueError unless a page of ``limit`` rows is 1 … ``most``."""
    if not 1 <= limit <= most:
        raise ValueError(f"limit {limit}: expected 1 to {most}")
