"""Accounts: who may use the web UI and the JSON API, and what they did.

In the job store's database (SQLite or PostgreSQL alike, tables of revision 0003,
:mod:`printserver.accounts.schema`):

* :mod:`~printserver.accounts.users`: users with a role (admin, qa, viewer) and an argon2id
  password hash (:mod:`~printserver.accounts.passwords`); never without an admin once one exists;
* :mod:`~printserver.accounts.tokens`: API tokens, only their SHA-256 kept;
* :mod:`~printserver.accounts.audit`: the audit log, written in the transaction of each change;
* :mod:`~printserver.accounts.settings`: values every node shares (the web's secret key);
* :mod:`~printserver.accounts.setup`: the first-run setup token;
* :mod:`~printserver.accounts.signin`: sign-in, throttled from the audit log;
* :mod:`~printserver.accounts.services`: :class:`Accounts`, all of them over one database;
* :mod:`~printserver.accounts.cli`: ``printserver users …``.
"""

from printserver.accounts.errors import (AccountError, BadNameError, BadRoleError, LastAdminError,
                                         NameTakenError, SetupError, SignInError,
                                         SignInThrottled, UnknownTokenError, UnknownUserError,
                                         WeakPasswordError)
from printserver.accounts.model import (Actor, ApiToken, AuditFilter, AuditPage, AuditRecord,
                                        IssuedToken, Outcome, Role, User)
from printserver.accounts.services import Accounts

__all__ = ["AccountError", "Accounts", "Actor", "ApiToken", "AuditFilter", "AuditPage",
           "AuditRecord", "BadNameError", "BadRoleError", "IssuedToken", "LastAdminError",
           "NameTakenError", "Outcome", "Role", "SetupError", "SignInError", "SignInThrottled",
           "UnknownTokenError", "UnknownUserError", "User", "WeakPasswordError"]
