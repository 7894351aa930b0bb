"""The console in a real browser: Debian's Chromium driven by Playwright (it cannot download
its own browsers here), offline (only this machine answers), with an accessibility check
(axe-core) and a screenshot per page.

Screenshots go to ``$CONSOLE_SCREENSHOTS`` or ``.screenshots/`` at the repository's root (not
committed; the README shows some of them)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium (apt-get install chromium)"
)
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS") or ROOT / ".screenshots")
# axe-core impacts that fail a page.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        assert CHROMIUM is not None
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def offline_page(browser: Browser, locale: str = "en-GB") -> Page:
    """A fresh page (its own cookies) that reaches nothing but this machine."""
    context = await browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})

    async def offline(route: Route) -> None:
        if route.request.url.startswith("http://127.0.0.1:"):
            await route.continue_()
        else:
            await route.abort()

    await context.route("**/*", offline)
    return await context.new_page()


async def log_in(page: Page, console_url: str, username: str, password: str | None = None) -> None:
    """Through the log-in form, as a person does."""
    await page.goto(f"{console_url}/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password or f"demo-{username}")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state("domcontentloaded")


async def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    violations: list[dict[str, Any]] = results.response.get("violations", [])
    return [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]


async def shoot(page: Page, name: str, directory: Path = SCREENSHOTS) -> Path:
    """A screenshot of the page as it is now (the viewport: what a person sees first)."""
    path = directory / f"{name}.png"
    await page.screenshot(path=str(path))
    return path


async def check_page(page: Page, name: str) -> None:
    """Screenshot the page, then assert axe finds nothing serious or critical on it."""
    # The screenshot makes its directory.
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    violations = await accessibility_violations(page)
    assert not violations, [
        (v["id"], v["impact"], [n.get("target") for n in v.get("nodes", [])][:3])
        for v in violations
    ]
