"""The sections of the top bar, and who sees them: one table.

A section shows when its first endpoint exists in the application (the blueprint that serves it is
registered) and the user's role may open it; it is marked current when the request's endpoint is
one of its endpoints, or when the page's template says ``{% set active_section = "jobs" %}``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for

from printserver.accounts import Role, User
from web.access import allowed


@dataclass(frozen=True)
class Section:
    """One section of the top bar.

    Attributes
    ----------
    key : str
        What ``active_section`` names.
    label : str
    endpoints : tuple of str
        The first is where the link goes; all of them mark the section current.
    roles : tuple of Role
        Who sees it besides admin (empty: every role).
    """

    key: str
    label: str
    endpoints: tuple[str, ...]
    roles: tuple[Role, ...] = ()


SECTIONS: tuple[Section, ...] = (
    Section("dashboard", "Dashboard", ("admin.dashboard",)),
    Section("jobs", "Jobs", ("admin.jobs", "admin.job")),
    Section("printers", "Printers", ("admin.printers", "admin.printer")),
    Section("associations", "Associations", ("admin.associations",)),
    Section("qc", "QC", ("qc.index",), (Role.QA,)),
    Section("users", "Users", ("admin.users", "admin.user"), (Role.ADMIN,)),
    Section("audit", "Audit", ("admin.audit",), (Role.ADMIN,)),
)


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url: str
    current: bool


def navigation(user: User | None) -> list[NavItem]:
    """The sections ``user`` sees, with their links."""
    if user is None:
        return []
    served = current_app.view_functions
    endpoint = request.endpoint or ""
    return [NavItem(s.key, s.label, url_for(s.endpoints[0]), endpoint in s.endpoints)
            for s in SECTIONS if s.endpoints[0] in served and allowed(user, s.roles)]
