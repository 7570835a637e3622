"""Passwords: the policy a new one must meet, and argon2id hashes of them.

Hashes are argon2id (RFC 9106) with argon2-cffi's default parameters (its "low memory" profile of
RFC 9106: 3 passes over 64 MiB, 4 lanes), encoded with their parameters and salt, so that a later
release can raise the parameters and :func:`verify` tells when a stored hash should be made
again. A password is never logged, never stored, and never part of an error message.
"""

from __future__ import annotations

import hashlib
import logging

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from printserver.accounts.errors import WeakPasswordError

log = logging.getLogger(__name__)

#: the shortest password accepted (NIST SP 800-63B asks for at least 8)
MIN_LENGTH = 10
#: the longest: beyond it hashing would only be a way to make the server work
MAX_LENGTH = 1024

_HASHER = PasswordHasher()
#: verified when the user does not exist, so that a wrong name takes as long as a wrong password
_DUMMY = _HASHER.hash("printserver: no such user")


def check_policy(password: str, name: str = "") -> None:
    """Refuse a password that is empty, shorter than :data:`MIN_LENGTH` or longer than
    :data:`MAX_LENGTH` characters, one character repeated, or the user's name.

    Raises
    ------
    WeakPasswordError
        Naming the rule (never the password).
    """
    if not password:
        raise WeakPasswordError("a password is required")
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"at least {MIN_LENGTH} characters are required")
    if len(password) > MAX_LENGTH:
        raise WeakPasswordError(f"at most {MAX_LENGTH} characters are allowed")
    if len(set(password)) == 1:
        raise WeakPasswordError("one character repeated is not a password")
    if name and password.strip().lower() == name.strip().lower():
        raise WeakPasswordError("the password must not be the user's name")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (with its parameters and a random salt)."""
    return _HASHER.hash(password)


def verify(password_hash: str, password: str) -> tuple[bool, bool]:
    """(matches, needs rehash): whether ``password`` matches the hash, and when it does, whether
    the hash was made with other parameters than this release's (store a new one)."""
    try:
        _HASHER.verify(password_hash, password)
    except VerifyMismatchError:
        return False, False
    except (VerificationError, InvalidHashError) as exc:
        log.warning("a stored password hash cannot be verified: %s", type(exc).__name__)
        return False, False
    return True, _HASHER.check_needs_rehash(password_hash)


def verify_nothing(password: str) -> None:
    """Spend the time of one verification (for a user that does not exist or is disabled)."""
    verify(_DUMMY, password)


def credential_stamp(password_hash: str) -> str:
    """A short digest of a password hash: sessions remember it and end when it changes."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]
