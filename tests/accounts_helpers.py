"""Helpers for the accounts and web tests: a clock the test moves, and accounts over a store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from printserver.accounts import Accounts, Actor
from printserver.config import WebConfig

#: a password every test user has (meets the policy)
PASSWORD = "correct horse battery"
#: who the tests' changes are made by
TESTER = Actor("tester", "127.0.0.1")


class MovingClock:
    """A clock that stands still until the test moves it (``advance``)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move on by ``timedelta(**delta)``; the new time."""
        self.now += timedelta(**delta)
        return self.now


def accounts_over(store, clock: MovingClock | None = None, web: WebConfig | None = None
                  ) -> Accounts:
    """:class:`Accounts` on a job store's database (the store stays open; closing it is the
    caller's)."""
    return Accounts(store.db, web or WebConfig(), clock or MovingClock())
