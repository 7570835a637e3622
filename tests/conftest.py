"""Shared pytest fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def require_tool(name: str) -> str:
    """Path of a command-line tool the test needs; fail (not skip) when scripts/test should have
    installed it, so that a missing dependency never turns into a silently green run."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: run the suite through scripts/test, which installs it")
    return path
