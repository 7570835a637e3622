"""The admin pages (blueprint ``admin``): for now the dashboard, a placeholder that lists the
printers with their status; the printers, jobs, associations, users and audit pages join it."""

from __future__ import annotations

from flask import Blueprint, render_template

from printserver.accounts import Role
from web.access import page_access
from web.context import services

bp = Blueprint("admin", __name__)


@bp.get("/")
@page_access(Role.QA, Role.VIEWER)
def dashboard() -> str:
    """The dashboard: each printer with its status and queue length."""
    return render_template("admin/dashboard.html", printers=services().printers.list())
