"""What the accounts' services raise. Every error is a
:class:`~printserver.errors.PrintserverError` with a message fit for an operator: the CLI prints
it on one line, the web shows it (and maps it to an HTTP status, see ``web/errors.py``).

Errors about one input (a name, a role, a password) are :class:`~printserver.errors.ParameterError`
subclasses naming it, so that a form shows them beside that field.
"""

from __future__ import annotations

from printserver.errors import ParameterError, PrintserverError


class AccountError(PrintserverError):
    """Base of the accounts' refusals."""


class UnknownUserError(AccountError, LookupError):
    """No user has this name (the web answers 404)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no user named {name!r}")


class NameTakenError(AccountError):
    """A user with this name exists already (the web answers 409)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"a user named {name!r} exists already")


class BadNameError(ParameterError):
    """A user name that is empty, too long or has characters outside the allowed set."""

    def __init__(self, message: str) -> None:
        super().__init__("name", message)


class BadRoleError(ParameterError):
    """A role that is not admin, qa or viewer."""

    def __init__(self, message: str) -> None:
        super().__init__("role", message)


class WeakPasswordError(ParameterError):
    """A password that is empty, too short, too long, or the user's name."""

    def __init__(self, message: str) -> None:
        super().__init__("password", message)


class LastAdminError(AccountError):
    """The change would leave no enabled admin (removing, demoting or disabling the last one)."""


class UnknownTokenError(AccountError, LookupError):
    """No API token has this id (for this user)."""


class SetupError(AccountError):
    """The first-run setup is refused: a wrong, expired or used setup token, or users exist."""


class SignInError(AccountError):
    """A sign-in is refused. The message never says whether the name exists."""


class SignInThrottled(SignInError):
    """Too many failed sign-ins for this name or from this address in the throttle's window.

    Attributes
    ----------
    retry_after : float
        Seconds until an attempt is counted again.
    """

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        minutes = max(1, -(-int(retry_after) // 60))
        super().__init__(f"too many failed sign-ins; try again in {minutes} "
                         f"minute{'s' if minutes != 1 else ''}")
