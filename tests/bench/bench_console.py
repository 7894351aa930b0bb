"""The operator console (issue 13): server time and weight of every page, with the demo data.

A stack is started exactly as ``make run`` starts it (its own PostgreSQL and Kafka, the demo
data, the console). For each demo operator the benchmark logs in through the console's log-in
form and crawls the console from My work, following every link to a console page (not forms,
not downloads, at most ``PAGES_PER_OPERATOR`` pages), then asks each page ``ROUNDS`` times.

- Server time: the console's ``Server-Timing: app;dur=`` header (its own work plus the API
  calls the page made), p95 per page; the target is under 150 ms for every page. The baseline
  is the gateway's own ``GET /auth/me`` (one API call, the least a page can cost).
- Weight: the page's HTML plus the stylesheet and scripts it links, uncompressed; under 300 KB.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from bench_common import Report, Result, percentile
from bench_figures import Goal

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.make_run_stack import make_run_stack  # noqa: E402

OPERATORS = ("trader", "accountant", "controller", "risk-officer", "it-support", "auditor", "admin")
PAGES_PER_OPERATOR = 40
ROUNDS = 20
TARGET_P95_MS = 150.0
TARGET_WEIGHT_KB = 300.0
NOT_PAGES = ("/logout", "/login", "/locale", "/live/", "/static/")
ID_SEGMENT = re.compile(r"^(?:[0-9a-f-]{16,}|[0-9]+|[A-Z]{2,}-[\w-]+|\d{4}-\d{2})$", re.IGNORECASE)


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "link" and values.get("rel") == "stylesheet" and values.get("href"):
            self.assets.append(str(values["href"]))
        if tag == "script" and values.get("src"):
            self.assets.append(str(values["src"]))


def template_of(path: str) -> str:
    """/ledger/journal/5f0c... -> /ledger/journal/{id}: pages of one kind count as one."""
    parts = [("{id}" if ID_SEGMENT.match(p) else p) for p in urlsplit(path).path.split("/")]
    return "/".join(parts) or "/"


async def log_in(client: httpx.AsyncClient, username: str) -> None:
    form = (await client.get("/login")).text
    nonce = form.split('name="login_nonce" value="', 1)[1].split('"', 1)[0]
    answer = await client.post(
        "/login",
        data={"username": username, "password": f"demo-{username}", "login_nonce": nonce},
    )
    assert answer.status_code in (200, 303), answer.text[:300]


async def crawl(client: httpx.AsyncClient) -> dict[str, str]:
    """One URL per page kind reachable from My work: template -> URL."""
    found: dict[str, str] = {}
    queue = ["/"]
    seen: set[str] = set()
    while queue and len(found) < PAGES_PER_OPERATOR:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        answer = await client.get(url)
        if answer.status_code != 200 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        found.setdefault(template_of(url), url)
        links = Links()
        links.feed(answer.text)
        for href in links.hrefs:
            target = urlsplit(urljoin(url, href))
            if target.netloc and target.netloc != client.base_url.netloc.decode():
                continue
            path = target.path + (f"?{target.query}" if target.query else "")
            if target.path.startswith(NOT_PAGES) or target.path.endswith(".csv"):
                continue
            if template_of(path) not in found and path not in seen:
                queue.append(path)
    return found


async def page_weight(client: httpx.AsyncClient, html: str) -> int:
    links = Links()
    links.feed(html)
    size = len(html.encode())
    for asset in links.assets:
        size += len((await client.get(asset)).content)
    return size


async def run(report: Report) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-console-"))
    try:
        with make_run_stack(data_dir) as stack:
            await measure(report, stack.console_url, stack.gateway_url)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def measure(report: Report, console_url: str, gateway_url: str) -> None:
    server_ms: dict[str, list[float]] = defaultdict(list)
    weights: dict[str, int] = {}
    for username in OPERATORS:
        async with httpx.AsyncClient(base_url=console_url, timeout=30, trust_env=False) as client:
            await log_in(client, username)
            pages = await crawl(client)
            for template, url in pages.items():
                key = f"{template} ({username})"
                for _ in range(ROUNDS):
                    answer = await client.get(url)
                    timing = answer.headers.get("server-timing", "app;dur=nan")
                    server_ms[key].append(float(timing.split("dur=", 1)[1]))
                weights[key] = await page_weight(client, answer.text)
    baseline = await auth_me_ms(gateway_url)
    worst = max(server_ms, key=lambda k: percentile(server_ms[k], 95))
    heaviest = max(weights, key=lambda k: weights[k])
    report.add(
        Result(
            "console: worst page p95 server time",
            percentile(server_ms[worst], 95),
            "ms",
            "gateway GET /auth/me p95",
            percentile(baseline, 95),
            detail=f"({worst}; {len(server_ms)} pages x {ROUNDS})",
            goal=Goal.under(TARGET_P95_MS),
            decimals=1,
        )
    )
    report.add(
        Result(
            "console: heaviest page (HTML + CSS + JS)",
            weights[heaviest] / 1024,
            "KB",
            detail=f"({heaviest})",
            goal=Goal.under(TARGET_WEIGHT_KB),
            decimals=1,
        )
    )
    for key in sorted(server_ms):
        p95 = percentile(server_ms[key], 95)
        report.note(
            f"{key:<58} p50 {percentile(server_ms[key], 50):6.1f} ms  p95 {p95:6.1f} ms  "
            f"{weights[key] / 1024:6.1f} KB"
        )


async def auth_me_ms(gateway_url: str) -> list[float]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30, trust_env=False) as client:
        token = (
            await client.post(
                "/auth/login", json={"username": "auditor", "password": "demo-auditor"}
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        times = []
        for _ in range(ROUNDS * 5):
            started = time.perf_counter()
            await client.get("/auth/me", headers=headers)
            times.append((time.perf_counter() - started) * 1000)
        return times


if __name__ == "__main__":  # a quick run against a stack already running (make run)
    asyncio.run(measure(Report(), sys.argv[1], sys.argv[2]))
