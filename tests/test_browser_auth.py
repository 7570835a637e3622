"""In Debian's headless chromium against a real ``printserver serve``: the first-run setup with
the token from serve's log, signing out and in again, a viewer without the admin sections, the
keyboard's way through the sign-in page; screenshots of the sign-in, setup and dashboard pages
(desktop and tablet)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from accounts_helpers import PASSWORD
from scp_fixtures import REPO

pytestmark = pytest.mark.browser


def _sign_in(page, base_url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/signin")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_first_run_setup_sign_out_and_in_again(web_serve, new_page, screenshot):
    serve = web_serve()
    page = new_page()
    page.goto(serve.base_url)
    assert page.url == f"{serve.base_url}/setup"  # / → sign-in → setup: nobody exists yet
    assert page.get_by_role("heading", name="Create the first admin").is_visible()
    screenshot(page, "setup")

    page.get_by_label("Setup token").fill("not-the-token")
    page.get_by_label("Admin name").fill("root")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create admin and sign in").click()
    assert page.get_by_text("this setup token is not valid").is_visible()
    assert page.get_by_label("Setup token").get_attribute("aria-invalid") == "true"
    screenshot(page, "setup-wrong-token")

    page.get_by_label("Setup token").fill(serve.setup_token())
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create admin and sign in").click()
    page.wait_for_url(f"{serve.base_url}/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_text("You are printserver's first admin").is_visible()
    assert page.locator(".account-name").inner_text() == "root"
    assert page.locator("footer").inner_text().strip() == "printserver 0.1.0"
    screenshot(page, "dashboard")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{serve.base_url}/signin")
    assert page.get_by_text("You are signed out.").is_visible()
    screenshot(page, "signed-out")
    page.goto(f"{serve.base_url}/")
    assert page.url.startswith(f"{serve.base_url}/signin")  # the session is gone

    _sign_in(page, serve.base_url, "root", "wrong password")
    assert page.get_by_text("wrong user name or password").is_visible()
    screenshot(page, "signin-wrong-password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{serve.base_url}/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.console_errors == []  # no CSP violation, no failed asset


def _add_user(serve, name: str, role: str) -> None:
    ran = subprocess.run([sys.executable, "-m", "printserver", "users", "add", name, "--role", role,
                          "--password-stdin", "--data-dir", str(serve.data_dir)], cwd=REPO,
                         input=PASSWORD, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr


def test_a_viewer_sees_no_admin_sections(web_serve, new_page, screenshot):
    serve = web_serve()
    _add_user(serve, "ada", "admin")  # while serve runs: the setup page closes by itself
    _add_user(serve, "vic", "viewer")
    page = new_page()
    page.goto(f"{serve.base_url}/signin")
    assert page.get_by_role("heading", name="Sign in").is_visible()
    screenshot(page, "signin")
    _sign_in(page, serve.base_url, "vic")
    page.wait_for_url(f"{serve.base_url}/")
    sections = page.get_by_role("navigation", name="Sections").get_by_role("link")
    assert sections.all_inner_texts() == ["Dashboard"]
    assert page.locator(".badge-role").inner_text().lower() == "viewer"
    for admin_only in ("Users", "Audit", "QC"):
        assert page.get_by_role("link", name=admin_only).count() == 0
    screenshot(page, "dashboard-viewer")

    tablet = new_page(scale=2, width=800, height=1100)
    _sign_in(tablet, serve.base_url, "ada")
    tablet.wait_for_url(f"{serve.base_url}/")
    assert tablet.locator(".badge-role").inner_text().lower() == "admin"
    screenshot(tablet, "dashboard-tablet")
    tablet.goto(f"{serve.base_url}/no-such-page")
    assert tablet.get_by_role("heading", name="Not found").is_visible()
    screenshot(tablet, "not-found")
    assert page.console_errors == [] and tablet.console_errors == []


def test_the_sign_in_page_works_from_the_keyboard(web_serve, new_page):
    serve = web_serve()
    _add_user(serve, "ada", "admin")
    page = new_page()
    page.goto(f"{serve.base_url}/signin")
    assert page.evaluate("document.activeElement.id") == "name"  # the first field has focus
    page.keyboard.type("ada")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{serve.base_url}/")
    page.keyboard.press("Tab")  # the first stop of every page: the skip link, visible now
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.get_by_role("link", name="Skip to content").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    outline = page.evaluate("""() => { const b = document.querySelector('.topbar .btn');
        b.focus({focusVisible: true}); return getComputedStyle(b).outlineStyle; }""")
    assert outline == "solid"  # a visible focus ring
