"""The web foundation through Flask's test client: every route per role, sign-in and sign-out,
the first-run setup, CSRF refusals, throttling, session expiry (idle and absolute) on a clock
the test moves, security headers and cookie flags, errors as pages and as JSON on /api/, and
API authentication with Bearer tokens."""

from __future__ import annotations


import pytest
from flask import Blueprint, abort, jsonify

from accounts_helpers import PASSWORD, TESTER
from printserver.accounts import AuditFilter, Role
from printserver.config import Config
from printserver.jobs.lifecycle import UnknownJobError
from printserver.jobs.migrate import upgrade
from printserver.jobs.services import Services
from web import create_app
from web.access import api_access, page_access
from web.context import accounts
from web_fixtures import USERS, csrf_token, signed_in

ROLES = [None, "viewer", "qa", "admin"]


def _audit(app, **where) -> list[tuple[str, str, str, str]]:
    with app.app_context():
        page = accounts().audit.page(AuditFilter(**where))
    return [(r.user, r.action, r.outcome.value, r.detail) for r in reversed(page.records)]


@pytest.fixture
def probe(web_app):
    """Routes of a test blueprint: an admin-only page and API endpoint (GET and POST), and
    views that raise."""
    bp = Blueprint("probe", __name__)

    @bp.get("/probe/admin")
    @page_access(Role.ADMIN)
    def admin_page():
        return "admin page"

    @bp.route("/api/probe/admin", methods=["GET", "POST"])
    @api_access(Role.ADMIN)
    def admin_api():
        return jsonify(ok=True)

    @bp.post("/api/probe/any")
    @api_access()
    def any_api():
        return jsonify(ok=True)

    @bp.get("/api/probe/boom")
    @api_access()
    def boom_api():
        raise RuntimeError("secret detail of a bug")

    @bp.get("/probe/boom")
    @page_access()
    def boom_page():
        raise RuntimeError("secret detail of a bug")

    @bp.get("/api/probe/job")
    @api_access()
    def unknown_job():
        raise UnknownJobError("J1")

    @bp.get("/probe/forbidden")
    @page_access()
    def forbidden():
        abort(403)

    web_app.register_blueprint(bp)
    web_app.config["PROPAGATE_EXCEPTIONS"] = False  # the 500 answers, as in production
    return web_app


# -- every route, per role ----------------------------------------------------------------------

#: (method, path) → the status per role (anonymous, viewer, qa, admin)
ROUTES = {
    ("GET", "/"): (302, 200, 200, 200),
    ("GET", "/signin"): (200, 302, 302, 302),
    ("GET", "/setup"): (302, 302, 302, 302),  # users exist: to the sign-in page
    ("POST", "/signout"): (302, 302, 302, 302),
    ("GET", "/api/health"): (200, 200, 200, 200),
    ("GET", "/api/me"): (401, 200, 200, 200),
    ("GET", "/static/printserver.css"): (200, 200, 200, 200),
}


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role(client_as, role):
    for (method, path), statuses in ROUTES.items():
        client = client_as(role)
        data = {"csrf_token": csrf_token(client)} if method == "POST" else None
        answer = client.open(path, method=method, data=data)
        assert answer.status_code == statuses[ROLES.index(role)], (method, path, role)


def test_every_route_declares_who_may_use_it(web_app):
    undeclared = [rule.rule for rule in web_app.url_map.iter_rules() if rule.endpoint != "static"
                  and not hasattr(web_app.view_functions[rule.endpoint], "access_roles")]
    assert undeclared == []
    served = {rule.rule for rule in web_app.url_map.iter_rules()}
    assert served >= {path for _, path in ROUTES if not path.startswith("/static/")}


def test_anonymous_pages_redirect_to_sign_in_and_back(client_as):
    anonymous = client_as(None)
    answer = anonymous.get("/?x=1")
    assert answer.status_code == 302 and answer.location == "/signin?next=/?x%3D1"
    form = anonymous.get(answer.location).get_data(as_text=True)
    assert 'name="next" value="/?x=1"' in form
    back = anonymous.post("/signin", data={"csrf_token": csrf_token(anonymous, "/signin"),
                                           "name": "vic", "password": PASSWORD, "next": "/?x=1"})
    assert back.status_code == 302 and back.location == "/?x=1"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", ""])
def test_sign_in_never_sends_to_another_site(client_as, target):
    client = client_as(None)
    answer = client.post("/signin", data={"csrf_token": csrf_token(client, "/signin"),
                                          "name": "vic", "password": PASSWORD, "next": target})
    assert answer.status_code == 302 and answer.location == "/"


def test_role_decorators_answer_403_pages_and_json(probe, client_as):
    for role in ("viewer", "qa"):
        client = client_as(role)
        page = client.get("/probe/admin")
        assert page.status_code == 403 and "Not allowed" in page.get_data(as_text=True)
        api = client.get("/api/probe/admin")
        assert api.status_code == 403 and api.json == {"error": "your role may not do this"}
        assert client.post("/api/probe/admin", headers={"X-CSRFToken": csrf_token(client)}
                           ).status_code == 403
    assert client_as("admin").get("/probe/admin").status_code == 200
    assert client_as(None).get("/probe/admin").status_code == 302
    # a refused change is audited, a refused read is not
    assert _audit(probe, outcome="denied") == [("vic", "access", "denied", "POST as viewer"),
                                               ("quinn", "access", "denied", "POST as qa")]


# -- sign-in, sign-out, first-run setup ---------------------------------------------------------

def test_sign_in_and_out_are_audited_with_the_client_address(web_app, client_as):
    client = client_as(None)
    wrong = signed_in(client, "ada", "not the password", address="10.9.8.7")
    assert wrong.status_code == 401
    assert "wrong user name or password" in wrong.get_data(as_text=True)
    ok = signed_in(client, "ada", address="10.9.8.7")
    assert ok.status_code == 302 and ok.location == "/"
    page = client.get("/").get_data(as_text=True)
    assert "ada" in page and "Sign out" in page
    out = client.post("/signout", data={"csrf_token": csrf_token(client)},
                      environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert out.status_code == 302 and out.location == "/signin"
    assert "You are signed out." in client.get("/signin").get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert _audit(web_app, address="10.9.8.7") == [
        ("ada", "sign-in", "failure", "wrong name or password"),
        ("ada", "sign-in", "success", "role admin"),
        ("ada", "sign-out", "success", "signed out")]


def test_sign_in_form_errors_name_the_field(client_as):
    client = client_as(None)
    answer = client.post("/signin", data={"csrf_token": csrf_token(client, "/signin"),
                                          "name": "", "password": "x"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "user name is required" in text
    assert 'aria-invalid="true"' in text
    long = client.post("/signin", data={"csrf_token": csrf_token(client, "/signin"),
                                        "name": "x" * 65, "password": "x"})
    assert long.status_code == 400 and "at most 64 characters" in long.get_data(as_text=True)


def _empty_app(tmp_path, clock):
    config = Config(data_dir=tmp_path / "empty")
    upgrade(config)
    services = Services.open(config)
    return create_app(config, services, testing=True, clock=clock), services


def test_first_run_setup_creates_the_first_admin_once(tmp_path, web_clock):
    app, services = _empty_app(tmp_path, web_clock)
    try:
        with app.app_context():
            token, _ = accounts().setup.issue()
        client = app.test_client()
        assert client.get("/").location.startswith("/signin")
        assert client.get("/signin").location == "/setup"
        page = client.get("/setup").get_data(as_text=True)
        assert "Create the first admin" in page and "Setup token" in page

        def post(**form):
            values = {"csrf_token": csrf_token(client, "/setup"), "token": token, "name": "root",
                      "password": PASSWORD, "password2": PASSWORD, **form}
            return client.post("/setup", data=values)

        differ = post(password2="another password")
        assert differ.status_code == 400 and "the two passwords differ" in differ.get_data(as_text=True)
        weak = post(password="short", password2="short")
        assert weak.status_code == 400 and "at least 10 characters" in weak.get_data(as_text=True)
        wrong = post(token="not-the-token")
        assert wrong.status_code == 400 and "not valid" in wrong.get_data(as_text=True)
        done = post()
        assert done.status_code == 302 and done.location == "/"
        welcome = client.get("/").get_data(as_text=True)
        assert "first admin" in welcome and "root" in welcome
        assert client.get("/setup").location == "/signin"
        other = app.test_client()
        again = other.post("/setup", data={"csrf_token": csrf_token(other, "/signin"),
                                           "token": token, "name": "evil", "password": PASSWORD,
                                           "password2": PASSWORD})
        assert again.status_code == 302 and again.location == "/signin"
        with app.app_context():
            assert [(u.name, u.role) for u in accounts().users.list()] == [("root", Role.ADMIN)]
        assert [(a, o) for _, a, o, _ in _audit(app, action="setup")] == [
            ("setup", "failure"), ("setup", "success")]
    finally:
        services.close()


# -- CSRF -----------------------------------------------------------------------------------------

def test_forms_without_their_csrf_token_are_refused_with_a_message(client_as):
    client = client_as("admin")
    for path, data in (("/signout", {}), ("/signin", {"name": "ada", "password": PASSWORD})):
        answer = client.post(path, data=data)
        text = answer.get_data(as_text=True)
        assert answer.status_code == 400 and "CSRF token is missing or wrong" in text, path
        assert "reload the page" in text
    assert client.get("/").status_code == 200  # still signed in
    forged = client.post("/signout", data={"csrf_token": csrf_token(client_as("viewer"))})
    assert forged.status_code == 400  # another session's token


def test_session_api_requests_need_the_csrf_header_bearer_requests_do_not(probe, client_as):
    client = client_as("viewer")
    refused = client.post("/api/probe/any")
    assert refused.status_code == 400 and "X-CSRFToken" in refused.json["error"]
    assert client.post("/api/probe/any", headers={"X-CSRFToken": csrf_token(client)}).json == {"ok": True}
    with probe.app_context():
        secret = accounts().tokens.issue("vic", TESTER).secret
    bearer = probe.test_client().post("/api/probe/any", headers={"Authorization": f"Bearer {secret}"})
    assert bearer.status_code == 200


# -- throttling -----------------------------------------------------------------------------------

@pytest.mark.web_config(signin_max_failures_per_name=3, signin_window_minutes=15)
def test_sign_in_is_throttled_with_a_clear_message(web_app, client_as, web_clock):
    client = client_as(None)
    for _ in range(3):
        assert signed_in(client, "ada", "wrong password").status_code == 401
        web_clock.advance(minutes=1)
    throttled = signed_in(client, "ada")  # the right password, too late
    assert throttled.status_code == 429
    # failures at 0, 1 and 2 minutes; now 3: the first leaves the 15-minute window in 12
    assert "too many failed sign-ins; try again in 12 minutes" in throttled.get_data(as_text=True)
    assert signed_in(client_as(None), "vic").status_code == 302  # another name is not throttled
    web_clock.advance(minutes=12)
    assert signed_in(client, "ada").status_code == 302


# -- sessions -------------------------------------------------------------------------------------

@pytest.mark.web_config(idle_minutes=30, session_hours=8)
def test_an_idle_session_ends_and_says_so(web_app, web_clock):
    client = web_app.test_client()
    assert signed_in(client, "vic").status_code == 302
    web_clock.advance(minutes=29)
    assert client.get("/").status_code == 200  # a page: still here
    web_clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    web_clock.advance(minutes=20)
    assert client.get("/api/me").status_code == 200  # polling does not keep the session alive
    web_clock.advance(minutes=11)
    ended = client.get("/")
    assert ended.status_code == 302 and ended.location.startswith("/signin")
    assert "Your session has ended" in client.get("/signin").get_data(as_text=True)
    assert _audit(web_app, action="sign-out")[-1] == ("vic", "sign-out", "success",
                                                      "idle for more than 30 minutes")


@pytest.mark.web_config(idle_minutes=30, session_hours=2)
def test_a_session_ends_after_its_absolute_lifetime_however_active(web_app, web_clock):
    client = web_app.test_client()
    signed_in(client, "vic")
    for _ in range(4):
        web_clock.advance(minutes=25)
        assert client.get("/").status_code == 200
    web_clock.advance(minutes=25)  # 2 h 5 min after sign-in, 25 min after the last page
    assert client.get("/").status_code == 302
    assert _audit(web_app, action="sign-out")[-1][3] == "session older than 2 hours"


def test_a_new_password_a_disabled_user_or_a_new_role_apply_to_open_sessions(probe, client_as):
    viewer, admin = client_as("viewer"), client_as("admin")
    assert probe.test_client().get("/").status_code == 302
    with probe.app_context():
        accounts().users.set_role("vic", "admin", TESTER)
    assert viewer.get("/probe/admin").status_code == 200  # the role is read on every request
    with probe.app_context():
        accounts().users.set_password("vic", "a brand new password", TESTER)
        accounts().users.set_disabled("ada", True, TESTER)
    assert viewer.get("/").status_code == 302
    assert admin.get("/").status_code == 302
    assert admin.get("/api/me").status_code == 401


# -- headers, cookies, proxies --------------------------------------------------------------------

def test_every_response_carries_the_security_headers(probe, client_as):
    client = client_as("viewer")
    for path in ("/", "/signin", "/api/health", "/api/nope", "/nope", "/static/printserver.css"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert (headers.get("Cache-Control") == "no-store") == (not path.startswith("/static/")), path
        assert "Strict-Transport-Security" not in headers


def test_pages_have_no_inline_script_or_style(client_as):
    for role, path in ((None, "/signin"), ("admin", "/"), ("admin", "/nope")):
        html = client_as(role).get(path, follow_redirects=True).get_data(as_text=True)
        assert "<script>" not in html and "style=" not in html and "<style" not in html, path


def test_the_session_cookie_is_httponly_lax_and_secure_under_https(client_as):
    cookie = signed_in(client_as(None), "vic").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    client = client_as(None)
    https = client.post("/signin", base_url="https://localhost", data={
        "csrf_token": csrf_token(client, "/signin"), "name": "vic", "password": PASSWORD},
        headers={"Referer": "https://localhost/signin"})
    assert https.status_code == 302 and "Secure" in https.headers["Set-Cookie"]
    assert "max-age" in client.get("/api/health", base_url="https://localhost").headers[
        "Strict-Transport-Security"]


def _forwarded(client, **headers):
    return client.post("/signin", data={"csrf_token": csrf_token(client, "/signin"),
                                        "name": "vic", "password": PASSWORD},
                       headers={"X-Forwarded-For": "203.0.113.5", **headers},
                       environ_base={"REMOTE_ADDR": "127.0.0.1"})


@pytest.mark.web_config(trusted_proxies=1)
def test_a_trusted_proxy_s_headers_give_the_address_and_https(web_app):
    client = web_app.test_client()
    answer = _forwarded(client, **{"X-Forwarded-Proto": "http"})
    assert answer.status_code == 302
    assert _audit(web_app, action="sign-in")[-1][0] == "vic"
    with web_app.app_context():
        assert accounts().audit.page(AuditFilter(action="sign-in")).records[0].address == "203.0.113.5"


def test_forwarded_headers_are_ignored_without_trusted_proxies(web_app):
    _forwarded(web_app.test_client())
    with web_app.app_context():
        assert accounts().audit.page(AuditFilter(action="sign-in")).records[0].address == "127.0.0.1"


# -- errors ---------------------------------------------------------------------------------------

def test_api_errors_are_json_never_html_or_a_traceback(probe, client_as):
    client = client_as("viewer")
    cases = [("GET", "/api/nope", 404), ("POST", "/api/health", 405), ("DELETE", "/api/me", 405),
             ("GET", "/api/probe/boom", 500), ("GET", "/api/probe/job", 404),
             ("GET", "/api", 404)]
    for method, path, status in cases:
        answer = client.open(path, method=method)
        assert answer.status_code == status, path
        assert answer.mimetype == "application/json" and set(answer.json) == {"error"}, path
        assert "Traceback" not in answer.get_data(as_text=True)
        assert "secret detail" not in answer.get_data(as_text=True)
    assert set(client.post("/api/health").headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert "J1" in client.get("/api/probe/job").json["error"]
    big = client.post("/api/probe/any", data=b"x" * (2 * 1024 * 1024),
                      headers={"X-CSRFToken": csrf_token(client), "Content-Type": "text/plain"})
    assert big.status_code == 413 and big.mimetype == "application/json"


def test_page_errors_are_pages_in_the_product_s_look(probe, client_as):
    client = client_as("viewer")
    for path, status, words in (("/nope", 404, "Not found"), ("/probe/boom", 500, "Something went wrong"),
                                ("/probe/forbidden", 403, "Not allowed")):
        answer = client.get(path)
        text = answer.get_data(as_text=True)
        assert answer.status_code == status and answer.mimetype == "text/html"
        assert words in text and "printserver.css" in text and "printserver 0.1.0" in text
        assert "secret detail" not in text and "Traceback" not in text
    big = client.post("/signin", data={"name": "x" * (2 * 1024 * 1024)})
    assert big.status_code == 413 and "larger than printserver accepts" in big.get_data(as_text=True)


# -- Bearer tokens --------------------------------------------------------------------------------

def test_bearer_tokens_authenticate_the_api(probe):
    with probe.app_context():
        viewer = accounts().tokens.issue("vic", TESTER).secret
        admin = accounts().tokens.issue("ada", TESTER)
    client = probe.test_client()

    def get(path, header):
        return client.get(path, headers={"Authorization": header} if header else {})

    none = get("/api/me", None)
    assert none.status_code == 401 and none.headers["WWW-Authenticate"].startswith("Bearer")
    for header in ("Bearer nope", "Bearer", "Basic dmljOnBhc3N3b3Jk", f"Bearer {viewer}x"):
        bad = get("/api/me", header)
        assert bad.status_code == 401 and "error" in bad.json, header
    me = get("/api/me", f"Bearer {viewer}")
    assert me.status_code == 200 and me.json["user"]["name"] == "vic" and me.json["via"] == "token"
    assert get("/api/probe/admin", f"Bearer {viewer}").status_code == 403
    assert get("/api/probe/admin", f"Bearer {admin.secret}").json == {"ok": True}
    assert get("/", f"Bearer {viewer}").status_code == 302  # tokens are for the API only
    with probe.app_context():
        accounts().tokens.revoke(admin.token.token_id, TESTER)
    revoked = get("/api/probe/admin", f"Bearer {admin.secret}")
    assert revoked.status_code == 401 and "not valid" in revoked.json["error"]


def test_the_session_works_on_the_api_too(client_as):
    me = client_as("qa").get("/api/me")
    assert me.status_code == 200 and me.json["via"] == "session"
    assert me.json["user"] == {**me.json["user"], "name": "quinn", "role": "qa"}
    assert client_as(None).get("/api/health").json == {"status": "ok", "version": "0.1.0"}


# -- the top bar ----------------------------------------------------------------------------------

def test_the_top_bar_shows_each_role_its_sections(web_config, web_clock):
    with Services.open(web_config) as services:
        app = create_app(web_config, services, testing=True, clock=web_clock)
        for endpoint, path in (("admin.jobs", "/jobs"), ("qc.index", "/qc"),
                               ("admin.users", "/users"), ("admin.audit", "/audit")):
            app.add_url_rule(path, endpoint, page_access()(lambda: "x"))
        seen = {}
        for role, name in USERS.items():
            client = app.test_client()
            signed_in(client, name)
            html = client.get("/").get_data(as_text=True)
            nav = html.split('aria-label="Sections"')[1].split("</nav>")[0]
            seen[role] = [s for s in ("Dashboard", "Jobs", "Printers", "QC", "Users", "Audit")
                          if f">{s}</a>" in nav]
            assert 'aria-current="page">Dashboard<' in nav
            assert f"printserver 0.1.0" in html  # the footer
    assert seen == {"admin": ["Dashboard", "Jobs", "QC", "Users", "Audit"],
                    "qa": ["Dashboard", "Jobs", "QC"], "viewer": ["Dashboard", "Jobs"]}


# -- layering -------------------------------------------------------------------------------------

def test_web_reaches_the_database_only_through_the_services():
    """WEB_SPEC: web/ never imports a store module, sqlite3, psycopg or sqlalchemy."""
    import ast
    from pathlib import Path

    import web

    forbidden = ("sqlite3", "psycopg", "sqlalchemy", "printserver.jobs.store",
                 "printserver.jobs.database", "printserver.jobs.schema", "printserver.accounts.schema")
    wrong = []
    for path in sorted(Path(web.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            wrong += [f"{path.name}: {n}" for n in names
                      if any(n == f or n.startswith(f + ".") for f in forbidden)]
    assert wrong == []
