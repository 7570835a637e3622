"""Browser fixtures: Debian's headless chromium driven by Playwright for Python, against a real
``printserver serve`` (tests/test_browser_*.py, marker ``browser``).

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (installed by
scripts/test) with the arguments below. Screenshots go to ``test-artifacts/screenshots/`` (not
in git): look at them, they must look like a product.

* ``browser`` (session): the launched chromium;
* ``new_page(scale=1, width=1280, height=860)``: a page in a fresh context (its own cookies),
  with ``device_scale_factor=scale``; every console error of the page (a CSP violation, a script
  error) and every asset that failed (a stylesheet, a script, an image, a fetch answered 4xx or
  5xx) is collected in ``page.console_errors``;
* ``screenshot(page, name)``: saves ``test-artifacts/screenshots/<test>-<name>.png`` (full page);
* ``web_serve(config_toml=None)``: a started ``printserver serve`` (no render workers unless the
  configuration says otherwise) with the web UI on a free port: ``base_url``,
  ``setup_token()``, ``data_dir`` (:class:`scp_fixtures.ServerProcess`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scp_fixtures import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, for the whole session."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run the suite through scripts/test, which installs "
                    "Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _console(page, message) -> None:
    """A console error, but for chromium's note on a page answered 4xx (a refused form is a
    page, not an error of the page): those of assets are counted by :func:`_asset`."""
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        page.console_errors.append(message.text)


def _asset(page, response) -> None:
    if response.request.resource_type != "document" and response.status >= 400:
        page.console_errors.append(f"{response.url}: {response.status}")


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(scale: float = 1, width: int = 1280, height: int = 860):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      device_scale_factor=scale, locale="en-GB")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.console_errors = []
        page.on("console", lambda message: _console(page, message))
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        page.on("response", lambda response: _asset(page, response))
        page.on("requestfailed", lambda request: "ERR_ABORTED" not in (request.failure or "")
                and page.console_errors.append(f"{request.url}: {request.failure}"))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request):
    def take(page, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        path = SCREENSHOTS / f"{test}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture
def web_serve(print_scp_factory):
    def start(config_toml: str | None = None):
        return print_scp_factory(config_toml if config_toml is not None
                                 else "[workers]\ncount = 0\n")

    return start
