"""Browser tests: `tipline demo` as a real process, driven with Chromium through Playwright.

Chromium is the Debian package at /usr/bin/chromium (Playwright's own browser download is
not used). Without it, or without the `playwright` package, these tests are skipped, unless
TIPLINE_REQUIRE_BROWSER=1 (CI), where they fail instead.

When a test fails, every page it opened is saved as a screenshot in the test's tmp_path
and the paths are printed, with the path of the server's log.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from tests.conftest import REQUIRE_BROWSER
from tests.e2e.server import DemoServer, demo_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 10_000

FAILED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Chromium (skipped without it, required in CI)"
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


def failed(request: pytest.FixtureRequest) -> bool:
    return bool(request.node.stash.get(FAILED, False))


def _unavailable(reason: str) -> NoReturn:
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (TIPLINE_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for a test module (each test opens its own contexts)."""
    if not CHROMIUM.is_file():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (./dev setup)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DemoServer]:
    """A fresh `tipline demo` (its own data directory) for one test."""
    with demo_server(tmp_path) as running:
        yield running
        if failed(request):
            print(f"server log: {running.log}")


@pytest.fixture
def new_page(
    chromium: Browser, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Page]]:
    """Opens a page in a new browser context (its own cookies and storage): one person's
    browser. Screenshots of every page if the test fails."""
    opened: list[tuple[str, Page]] = []

    def open_page(name: str) -> Page:
        context = chromium.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        opened.append((name, page))
        return page

    yield open_page
    for name, page in opened:
        if failed(request) and not page.is_closed():
            path = tmp_path / f"failure-{name}.png"
            try:
                page.screenshot(path=path, full_page=True)
                print(f"screenshot of {name!r} at {page.url}: {path}")
            except Exception as error:
                print(f"no screenshot of {name!r}: {type(error).__name__}: {error}")
        page.context.close()
