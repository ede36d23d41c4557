"""Fixtures of the console's browser tests: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    """Keep each phase's report on the test, so fixtures can tell a failure."""
    outcome: Any = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="module")
def browser_context() -> Iterator[BrowserContext]:
    """A headless Chromium with a fresh profile, shared by a module's tests."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (scripts/install-system-deps.sh)")
    profile = tempfile.mkdtemp(prefix="watchfloor-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1366, "height": 768},
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def console_page(browser_context: BrowserContext) -> Iterator[Page]:
    """One browser tab, kept open across a module's tests (no reloads between)."""
    page = browser_context.new_page()
    page.set_default_timeout(15_000)
    yield page
    page.close()


@pytest.fixture
def page(
    console_page: Page, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Page]:
    """The module's tab; a failing test leaves a screenshot in its tmp_path."""
    yield console_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        console_page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot}")
