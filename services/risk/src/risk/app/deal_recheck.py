"""Re-checking refused deals when a limit is created or raised, in the approval's own
transaction.

Why there and not in an inbox over the service's own topic: the approval attaches the new
limit version to its ``Exposure`` stream, and that stream holds the refused deals waiting on
its key. Deciding in the same transaction reads the waiting list and the exposures under the
event store's version check, so a deal refused at the same moment by the ledger inbox is
either seen here or refused against the new limit there (one of the two commits conflicts
and is retried): no deal falls between the two. The deal is cleared the moment its limit
allows it, with no consumer lag, and a replay of the topic has nothing to redo.
"""

from __future__ import annotations

from datetime import datetime

from shared_kernel.unit_of_work import UnitOfWork

from risk.app.exposures import REQUEST
from risk.domain.deals import DealClearance, clearance_id
from risk.domain.exposure import Exposure
from risk.domain.exposure_items import CountedItem, ItemStatus, item_id


async def recheck_waiting_deals(uow: UnitOfWork, exposure: Exposure, at: datetime) -> int:
    """Re-check the refused deals waiting on ``exposure`` (loaded and tracked by ``uow``),
    oldest first, each against every limit in force on its keys at ``at``; a deal that now
    fits is cleared and reserves its amounts before the next one is checked. Each deal's
    events continue the deal's case, caused by this command's request. Answers how many
    deals were cleared."""
    waiting = exposure.waiting_deals()
    if not waiting:
        return 0
    found = await uow.find_many(DealClearance, [clearance_id(r) for r in waiting])
    exposures = {exposure.id: exposure}
    cleared = 0
    for request_id in waiting:
        clearance = found.get(clearance_id(request_id))
        if clearance is None or clearance.terms is None or not clearance.waiting:
            exposure.stop_waiting(request_id, at)  # decided meanwhile: nothing to check
            continue
        terms = clearance.terms
        keys = terms.keys()
        missing = [key.id for key in keys if key.id not in exposures]
        if missing:
            exposures.update(await uow.find_many(Exposure, missing))
        for key in keys:
            if key.id not in exposures:
                exposures[key.id] = Exposure.of(key)
                uow.add(exposures[key.id])
        states = {key: exposures[key.id].state_at(at) for key in keys}
        with uow.continuing_case(clearance):
            if not clearance.recheck(states, at):
                continue
            cleared += 1
            reserve = await uow.find(CountedItem, item_id(REQUEST, request_id)) is None
            if reserve:
                uow.add(
                    CountedItem.count(
                        REQUEST,
                        request_id,
                        ItemStatus.PENDING,
                        terms.counterparty,
                        terms.desk,
                        terms.amounts,
                        at,
                    )
                )
            for key in keys:
                if reserve:
                    exposures[key.id].change(
                        pending=terms.amounts[key.currency],
                        cause=REQUEST,
                        cause_id=request_id,
                        at=at,
                    )
                exposures[key.id].stop_waiting(request_id, at)
    return cleared
