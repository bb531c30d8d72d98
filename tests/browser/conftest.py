"""Playwright fixtures for the browser tests (real Chromium, driven through the sync API).

Everything under ``tests/browser/`` is marked ``browser`` and runs in a pytest process of its
own (``make test`` does that): Playwright's sync API keeps an event loop running in the main
thread, which breaks every later asyncio or ``async_to_sync`` test in the same process, and
makes Django refuse ORM calls in tests unless ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set. That
variable is set here for the browser tests only, never for the servers they drive.

Use ``page`` with ``stack`` (or ``daphne_server``) and ``django_db(transaction=True)``; a
screenshot of every failing test's page lands in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.conftest import artifact_dir, node_failed

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session", autouse=True)
def _allow_orm_beside_playwright() -> Iterator[None]:
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    """Headless Debian Chromium, shared by the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context and page per test; screenshot saved if the test failed."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    if node_failed(request):
        path = artifact_dir(request, "screenshots") / "page.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot: {path}")
        except Exception as error:  # the test's own failure matters more than the picture
            print(f"no screenshot: {error}")
    context.close()
