"""The tickets service's ``/metrics``: an SLA alarm counted once when it is recorded, however
many sweeps race for it, and every sweep of the SLA scheduler counted as a run."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from shared_kernel.testing import Headers, MetricSamples, metric_value, scrape_metrics
from tickets.bootstrap import TicketsSettings

from .conftest import FakeClock, running_tickets
from .test_tickets_escalation_once import sweep
from .tickets_api import create_queue, open_ticket

pytestmark = pytest.mark.integration

ALARMS = "backoffice_sla_alarms_total"
RUNS = "backoffice_sweeper_runs_total"


def alarms(samples: MetricSamples) -> tuple[float, float]:
    return (
        metric_value(samples, ALARMS, service="tickets", kind="warning"),
        metric_value(samples, ALARMS, service="tickets", kind="breach"),
    )


async def test_sla_alarms_are_counted_once_each_and_sweeps_as_runs(
    tickets_settings: TicketsSettings, as_role: Headers, clock: FakeClock
) -> None:
    admin, agent = as_role("admin", "none"), as_role("it-support")
    async with running_tickets(tickets_settings, clock) as client:
        queue = await create_queue(client, admin, "network", escalation_group="noc-managers")
        await open_ticket(client, agent, queue, impact=2, urgency=2)  # priority 2: 4 h, 8 h
        before = await scrape_metrics(client)

        clock.advance(timedelta(hours=3, minutes=30))  # past the 75 % warning
        warned = await asyncio.gather(*(sweep(client) for _ in range(3)))
        warning = await scrape_metrics(client)
        clock.advance(timedelta(hours=1))  # the first response is overdue
        breached = await sweep(client)
        after = await scrape_metrics(client)

    assert sum(warned) == 1 and breached == 1
    start = alarms(before)
    assert alarms(warning) == (start[0] + 1, start[1])  # three racing sweeps, one warning
    assert alarms(after) == (start[0] + 1, start[1] + 1)
    runs = {"service": "tickets", "sweeper": "sla"}
    assert metric_value(after, RUNS, **runs) - metric_value(before, RUNS, **runs) >= 4
