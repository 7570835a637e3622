"""Fixtures for the Flask test-client tests of the web UI and the JSON API (tests/test_web_*.py).

* ``web_clock``: the :class:`accounts_helpers.MovingClock` the application reads (sessions,
  throttling, audit times);
* ``web_config``: the configuration (SQLite job store in the test's folder; override ``[web]``
  keys with ``@pytest.mark.web_config(idle_minutes=5)``);
* ``web_app``: the application (``create_app(..., testing=True)``) over that store, with three
  users, one per role: ``ada`` (admin), ``quinn`` (qa), ``vic`` (viewer), password
  :data:`accounts_helpers.PASSWORD` (copied from a database made once per session: argon2 is slow
  on purpose);
* ``client_as(role or None)``: a test client signed in as that role's user (None: anonymous);
* :func:`csrf_token` and :func:`signed_in`.

Usage::

    def test_x(client_as):
        admin = client_as("admin")
        r = admin.post("/somewhere", data={"csrf_token": csrf_token(admin)})
"""

from __future__ import annotations

import dataclasses
import re
import shutil

import pytest

from accounts_helpers import PASSWORD, TESTER, MovingClock
from printserver.config import Config, WebConfig

#: the users of ``web_app``, by role
USERS = {"admin": "ada", "qa": "quinn", "viewer": "vic"}

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client, page: str = "/") -> str:
    """The CSRF token of ``client``'s session, read from a page's ``csrf-token`` meta tag (an
    anonymous client ends on the sign-in page)."""
    answer = client.get(page, follow_redirects=True)
    found = _META.search(answer.get_data(as_text=True))
    assert found, f"no csrf-token on {page} ({answer.status_code})"
    return found.group(1)


def signed_in(client, name: str, password: str = PASSWORD, address: str = "127.0.0.1"):
    """Sign ``client`` in through the sign-in form; the answer of the POST."""
    return client.post("/signin", data={"csrf_token": csrf_token(client, "/signin"), "name": name,
                                        "password": password},
                       environ_base={"REMOTE_ADDR": address})


@pytest.fixture(scope="session")
def _users_database(tmp_path_factory):
    """An upgraded SQLite job store holding the three users, made once per session."""
    from printserver.accounts import Accounts
    from printserver.jobs.migrate import upgrade

    folder = tmp_path_factory.mktemp("web-users")
    config = Config(data_dir=folder)
    upgrade(config)
    with Accounts.open(config) as accounts:
        for role, name in USERS.items():
            accounts.users.add(name, role, PASSWORD, TESTER)
    return config.sqlite_path


@pytest.fixture
def web_clock():
    return MovingClock()


@pytest.fixture
def web_config(request, tmp_path, _users_database):
    data = tmp_path / "var"
    data.mkdir()
    shutil.copy(_users_database, data / "printserver.sqlite3")
    marker = request.node.get_closest_marker("web_config")
    web = WebConfig(**(marker.kwargs if marker else {}))
    return dataclasses.replace(Config(data_dir=data), web=web)


@pytest.fixture
def web_app(web_config, web_clock):
    from printserver.jobs.services import Services
    from web import create_app

    with Services.open(web_config) as services:
        yield create_app(web_config, services, testing=True, clock=web_clock)


@pytest.fixture
def client_as(web_app, web_clock):
    """``client_as("viewer")``: a test client with a fresh session of that role's user (made as
    the sign-in form makes it, without its slow password check); ``client_as(None)``: anonymous."""
    from web.access import SEEN, SIGNED_IN, STAMP, USER
    from web.context import accounts

    def make(role: str | None):
        client = web_app.test_client()
        if role is not None:
            with web_app.app_context():
                user = accounts().users.get(USERS[role])
            at = web_clock().timestamp()
            with client.session_transaction() as session:
                session.update({USER: user.name, STAMP: user.credential_stamp, SIGNED_IN: at,
                                SEEN: at})
        return client

    return make


class HttpClient:
    """A cookie-keeping HTTP client for a real ``printserver serve`` (no redirect is followed:
    the answers are as the server gave them).

    Usage::

        http = HttpClient(scp.base_url)
        status, headers, body = http.get("/api/health")
        http.sign_in("ada", PASSWORD)
    """

    def __init__(self, base_url: str, context=None) -> None:
        import http.cookiejar
        import urllib.request

        class _NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.base_url = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()]
        if context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def request(self, method: str, path: str, data: dict | None = None,
                headers: dict | None = None) -> tuple[int, dict, str]:
        import urllib.error
        import urllib.parse
        import urllib.request

        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body, method=method,
                                         headers={"Referer": self.base_url + path, **(headers or {})})
        try:
            with self._opener.open(request, timeout=30) as answer:
                return answer.status, dict(answer.headers), answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, str]:
        return self.request("GET", path, headers=headers)

    def csrf_token(self, page: str = "/signin") -> str:
        found = _META.search(self.get(page)[2])
        assert found, f"no csrf-token on {page}"
        return found.group(1)

    def post_form(self, path: str, data: dict, page: str | None = None) -> tuple[int, dict, str]:
        """POST a form with the CSRF token of ``page`` (default: ``path`` itself)."""
        return self.request("POST", path, {"csrf_token": self.csrf_token(page or path), **data})

    def sign_in(self, name: str, password: str = PASSWORD) -> tuple[int, dict, str]:
        return self.post_form("/signin", {"name": name, "password": password})
