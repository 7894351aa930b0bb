"""The Tickets section in a real browser against the real stack: a trader opens a ticket in
the console; IT support, whose queue list shows it without reloading, takes it, writes an
internal note and a public reply; the trader sees the reply and never the note."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.async_api import Page, expect

from .browser import check_page, chromium, log_in, needs_chromium, offline_page
from .conftest import System, login

pytestmark = [pytest.mark.e2e, needs_chromium]

NOTE = "Feed handler leaked memory again, see problem PRB-7."
REPLY = "We are restarting the market-data feed; back in 10 minutes."


async def a_queue_of_it_support(module_system: System) -> str:
    """A queue that does not hand tickets out by itself, so that IT support takes them."""
    name = f"desk-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        created = await gateway.post(
            "/tickets/v1/queues",
            json={
                "name": name,
                "escalation_group": "it-managers",
                "members": ["it-support", "it-support-2"],
                "auto_assign": False,
            },
            headers=await login(gateway, "admin"),
        )
        assert created.status_code == 201, created.text
    return name


async def open_ticket(page: Page, console_url: str, queue: str, title: str) -> str:
    """Through the console's form, as the trader does; the ticket's id from its page."""
    await page.goto(f"{console_url}/tickets")
    await page.get_by_role("link", name="Open a ticket").click()
    await page.get_by_role("heading", name="Open a ticket").wait_for()
    await check_page(page, "tickets-new")
    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Queue").select_option(label=queue)
    await page.get_by_label("Impact").select_option("2")
    await page.get_by_label("Urgency").select_option("2")
    await page.get_by_label("Description", exact=True).fill(
        "The order blotter stopped updating at 09:12."
    )
    await page.get_by_role("button", name="Open ticket").click()
    await page.get_by_role("heading", name=title).wait_for()
    return page.url.split("/tickets/", 1)[1].split("?", 1)[0]


async def test_it_support_answers_a_traders_ticket_and_the_trader_never_sees_the_note(
    module_system: System,
) -> None:
    console = module_system.console_url
    queue = await a_queue_of_it_support(module_system)
    tag = uuid.uuid4().hex[:8]
    title = f"Trading screen frozen {tag}"
    async with chromium() as browser:
        agent, trader = await offline_page(browser), await offline_page(browser)
        await log_in(agent, console, "it-support")
        await log_in(trader, console, "trader")

        # IT support watches the queue, searching for the ticket that is not there yet.
        await agent.goto(f"{console}/tickets?q={tag}")
        await agent.get_by_text("No tickets match.").wait_for()

        ticket_id = await open_ticket(trader, console, queue, title)
        await check_page(trader, "tickets-detail-trader-opened")

        # The live list shows the new ticket without a reload, with its SLA badge.
        row = agent.get_by_role("row").filter(has_text=title)
        await row.wait_for(timeout=20_000)
        await expect(row.locator(".badge")).to_have_text("On time")
        await check_page(agent, "tickets-queue")
        await row.get_by_role("link", name=title).click()
        await agent.get_by_role("heading", name=title).wait_for()

        await agent.get_by_role("button", name="Take it").click()
        await agent.get_by_role("heading", name=title).wait_for()
        await expect(agent.locator("dl.facts")).to_contain_text("it-support")
        await agent.get_by_label("Internal note").fill(NOTE)
        await agent.get_by_role("button", name="Add internal note").click()
        await agent.locator(".note-internal", has_text=NOTE).wait_for()
        await agent.get_by_label("Public reply").fill(REPLY)
        await agent.get_by_role("button", name="Send reply").click()
        await agent.locator(".note-public", has_text=REPLY).wait_for()
        await expect(agent.locator(".note-internal")).to_contain_text("Internal note")
        # Only the transitions a new ticket allows (taking and replying leave it new).
        transitions = agent.locator('button[name="to"]')
        await expect(transitions).to_have_text(
            ["Set open", "Set pending", "Resolve", "Cancel ticket"]
        )
        await check_page(agent, "tickets-detail-agent")

        # A refusal of the API is shown on the page, readably, with what was typed.
        await agent.get_by_label("Other ticket").fill("no-such-ticket")
        await agent.get_by_role("button", name="Link", exact=True).click()
        await expect(agent.get_by_role("alert")).to_contain_text("no-such-ticket")
        await expect(agent.get_by_label("Other ticket")).to_have_value("no-such-ticket")
        await check_page(agent, "tickets-detail-refusal")

        # The trader's open ticket shows the reply as it arrives, then after a reload too:
        # the reply, not the note, and none of IT support's tools.
        await trader.locator(".note-public", has_text=REPLY).wait_for(timeout=20_000)
        assert NOTE not in await trader.content()
        await trader.goto(f"{console}/tickets/{ticket_id}")
        await trader.locator(".note-public", has_text=REPLY).wait_for()
        content = await trader.content()
        assert NOTE not in content and "note-internal" not in content
        assert "Take it" not in content and 'name="to"' not in content
        await check_page(trader, "tickets-detail-trader")

        # Resolved by IT support, the ticket is the trader's to rate.
        await agent.get_by_label("Reason", exact=True).first.fill("feed restarted")
        await agent.get_by_role("button", name="Resolve", exact=True).click()
        await expect(agent.locator(".page-head")).to_contain_text("Resolved")
        await trader.reload()
        await trader.get_by_label("4", exact=True).check()
        await trader.get_by_label("Comment").fill("Quick help, thanks.")
        await trader.get_by_role("button", name="Rate").click()
        await expect(trader.locator("dl.facts")).to_contain_text("4 / 5")
        await trader.goto(f"{console}/tickets")
        await trader.get_by_role("link", name=title).wait_for()
        await check_page(trader, "tickets-queue-trader")

        # A forged internal note of the trader's (with a good CSRF token) gets the 403 page.
        token = await trader.locator('input[name="csrf_token"]').first.get_attribute("value")
        refused = await trader.request.post(
            f"{console}/tickets/{ticket_id}/note", form={"body": "x", "csrf_token": token or ""}
        )
        assert refused.status == 403 and "Not allowed" in await refused.text()
