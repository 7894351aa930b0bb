"""The console in a real browser against the real stack: log-in, My work, log-out."""

from __future__ import annotations

import pytest

from .browser import check_page, chromium, log_in, needs_chromium, offline_page
from .conftest import System

pytestmark = [pytest.mark.e2e, needs_chromium]


async def test_an_operator_logs_in_sees_my_work_and_logs_out(module_system: System) -> None:
    async with chromium() as browser:
        page = await offline_page(browser)
        await log_in(page, module_system.console_url, "accountant")
        await page.get_by_role("heading", name="My work").wait_for()
        await check_page(page, "my-work-accountant")
        await page.get_by_role("button", name="Log out").click()
        await page.get_by_role("heading", name="Log in").wait_for()
        await check_page(page, "login")
        await page.goto(f"{module_system.console_url}/")
        assert "/login" in page.url
