"""Fixtures for the browser tests: the running stack, Debian's Chromium, and what the browser did.

``shared.testing.plugin`` creates a fresh migrated database and claims a private Redis db
before anything starts, and puts their URLs (and fresh secrets) in ``os.environ``; every
service process inherits that environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from e2e_harness import E2E_DIR, Stack, build_homepage, log_tail, start_stack
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Playwright,
    ViewportSize,
    sync_playwright,
)

pytest_plugins = ["shared.testing.plugin"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOTS = E2E_DIR / "screenshots"


@dataclass
class BrowserRecord:
    """Every URL the browser requested and every bearer token it was given, across contexts."""

    requested_urls: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed flow's report ends with the tail of every service's log."""
    report = yield
    running = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(running, Stack):
        for log in running.log_files():
            report.sections.append((f"log tail: {log.name}", log_tail(log)))
    return report


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh (make test-e2e does)")
    build_homepage()
    log_dir = tmp_path_factory.mktemp("e2e-logs")
    running = start_stack(log_dir=log_dir, base_env=dict(os.environ))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Debian's Chromium only: Playwright's own browser download is never used.
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="session")
def browser_record() -> BrowserRecord:
    return BrowserRecord()


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def new_visit(
    browser: Browser, stack: Stack, browser_record: BrowserRecord
) -> Iterator[Callable[..., BrowserContext]]:
    """A factory of fresh browser contexts (a new visit: empty storage) at a viewport (the
    desktop's unless told), each recording its requests; all are closed at the end."""
    contexts: list[BrowserContext] = []

    def open_context(viewport: ViewportSize = DESKTOP) -> BrowserContext:
        # Reduced motion: the chat scrolls instantly, so a screenshot never catches it mid-way.
        context = browser.new_context(
            viewport=viewport, base_url=stack.frontend_url, reduced_motion="reduce"
        )
        context.set_default_timeout(15_000)
        context.on("request", lambda request: browser_record.requested_urls.append(request.url))
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
