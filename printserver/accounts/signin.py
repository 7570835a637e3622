"""Signing in: the password checked, throttled after repeated failures, every attempt audited.

The throttle is computed from the audit log, so that every node sharing the database counts the
same failures and nothing is kept in memory: a sign-in is refused, without looking at the
password, while the name tried or the client's address has as many failed sign-ins in the last
``[web] signin_window_minutes`` as its limit (``signin_max_failures_per_name``, ``…_per_address``).
Refused attempts are recorded as ``denied`` and are not counted, so the wait ends when the oldest
counted failure leaves the window, whatever an attacker keeps sending.

Audit records (action ``sign-in``; ``sign-out`` by :meth:`SignIn.sign_out`): ``success``,
``failure`` (a wrong name or password: the record's user is the name tried) and ``denied``
(throttled). The message of a failure never says whether the name exists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from printserver.accounts.audit import MAX_FIELD, AuditLog
from printserver.accounts.errors import SignInError, SignInThrottled
from printserver.accounts.model import Actor, Clock, Outcome, User, utc_now
from printserver.accounts.users import UserService
from printserver.jobs.schema import stamp

log = logging.getLogger(__name__)

SIGN_IN = "sign-in"
SIGN_OUT = "sign-out"


@dataclass(frozen=True)
class ThrottleLimits:
    """Failed sign-ins allowed per name and per address within ``window``."""

    window: timedelta = timedelta(minutes=15)
    per_name: int = 5
    per_address: int = 20


class SignIn:
    """Sign-in and sign-out with throttling and audit.

    Parameters
    ----------
    users, audit
    limits
    clock
    """

    def __init__(self, users: UserService, audit: AuditLog,
                 limits: ThrottleLimits = ThrottleLimits(), clock: Clock = utc_now) -> None:
        self.users = users
        self.audit = audit
        self.limits = limits
        self.clock = clock

    def retry_after(self, name: str, address: str) -> float:
        """Seconds until ``name`` from ``address`` may try again; 0: now."""
        now = self.clock()
        since = stamp(now - self.limits.window)
        waits = [0.0]
        for limit, key in ((self.limits.per_name, {"user": name[:MAX_FIELD["user_name"]]}),
                           (self.limits.per_address, {"address": address[:MAX_FIELD["address"]]})):
            if not next(iter(key.values())):
                continue
            times = self.audit.failures_since(SIGN_IN, since, limit, **key)
            if len(times) >= limit:  # the limit-th newest failure must leave the window
                oldest = datetime.fromisoformat(times[limit - 1])
                waits.append((oldest + self.limits.window - now).total_seconds())
        return max(waits)

    def sign_in(self, name: str, password: str, address: str = "") -> User:
        """The user whose name and password these are.

        Raises
        ------
        SignInThrottled
            Too many failed sign-ins for this name or from this address (the password is not
            looked at); its message says how many minutes to wait.
        SignInError
            Wrong name or password, or a disabled user (one message for all).
        """
        name = (name or "").strip()
        actor = Actor(name, address)
        wait = self.retry_after(name, address)
        if wait > 0:
            refusal = SignInThrottled(wait)
            self.audit.record(actor, SIGN_IN, name, Outcome.DENIED, str(refusal))
            log.warning("sign-in of %r from %s refused: throttled", name[:64], address or "?")
            raise refusal
        user = self.users.authenticate(name, password or "")
        if user is None:
            self.audit.record(actor, SIGN_IN, name, Outcome.FAILURE, "wrong name or password")
            log.info("failed sign-in of %r from %s", name[:64], address or "?")
            raise SignInError("wrong user name or password")
        self.audit.record(actor, SIGN_IN, name, Outcome.SUCCESS, f"role {user.role.value}")
        log.info("%s signed in from %s", user.name, address or "?")
        return user

    def sign_out(self, user: str, address: str = "", reason: str = "") -> None:
        """Record a sign-out (the web ends the session); ``reason`` e.g. ``idle timeout``."""
        self.audit.record(Actor(user, address), SIGN_OUT, user, Outcome.SUCCESS, reason)
