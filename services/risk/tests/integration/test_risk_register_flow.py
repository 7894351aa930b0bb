"""The register over HTTP against real PostgreSQL and Kafka: identify, control, treat, plan,
review, close; filters, heat map, overdue report, history; refusals; rebuild equals live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from shared_kernel.rebuild import rebuild

from .risk_api import Headers, read, risk_body, write

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_a_risk_through_its_life_with_ratings_reviews_and_history(
    risk_settings: Any, as_role: Headers
) -> None:
    from .conftest import running_risk

    clock = Clock(T0)
    async with running_risk(risk_settings, clock=clock) as client:
        anna = as_role("risk-officer", subject="user:anna")
        auditor = as_role("auditor")

        made = await write(client, anna, "/v1/risks", risk_body(likelihood=4, impact=4), expect=201)
        risk_id = made["id"]
        risk = await read(client, auditor, f"/v1/risks/{risk_id}", made["position"])
        assert risk["inherent"]["level"] == "critical"
        assert risk["review_due"] == "2026-04-01"  # critical: 30 days

        control = await write(
            client,
            anna,
            f"/v1/risks/{risk_id}/controls",
            {"name": "Hot standby", "effectiveness": "strong", "reduces": "likelihood"},
            expect=201,
            version=1,
        )
        assert control["child_id"] == "control-2"
        await write(
            client,
            anna,
            f"/v1/risks/{risk_id}/treatment",
            {"treatment": "mitigate", "reason": "standby site is cheap"},
            method="PUT",
            version=2,
        )
        action = await write(
            client,
            anna,
            f"/v1/risks/{risk_id}/actions",
            {"title": "Failover drill", "owner": "user:olga", "due_date": "2026-03-20"},
            expect=201,
        )
        risk = await read(client, auditor, f"/v1/risks/{risk_id}", action["position"])
        # 4 x 4 with a strong likelihood control: 1 x 4 = 4, low; a year from identification.
        assert risk["residual"] == {"likelihood": 1, "impact": 4, "score": 4, "level": "low"}
        assert risk["review_due"] == "2027-03-02"
        assert risk["treatment"] == "mitigate"
        assert [c["name"] for c in risk["controls"]] == ["Hot standby"]
        assert risk["actions"][0]["action_id"] == "action-4"
        assert risk["actions"][0]["done"] is False

        overdue = await read(
            client, auditor, "/v1/reports/overdue", action["position"], as_of="2026-03-25T00:00:00Z"
        )
        assert [a["action_id"] for a in overdue["actions"] if a["risk_id"] == risk_id] == [
            "action-4"
        ]
        assert overdue["actions"][0]["days_overdue"] == 5
        flagged = await read(
            client, auditor, "/v1/risks", action["position"], as_of="2026-03-25T00:00:00Z"
        )
        [listed] = [r for r in flagged["items"] if r["risk_id"] == risk_id]
        assert (listed["overdue_actions"], listed["review_overdue"]) == (1, False)
        assert risk_id not in [r["risk_id"] for r in overdue["reviews"]]

        # A stale If-Match is refused and changes nothing.
        stale = await client.post(
            f"/v1/risks/{risk_id}/actions/action-4/completion",
            json={"note": "done"},
            headers={**anna, "If-Match": "2"},
        )
        assert stale.status_code == 412, stale.text  # RFC 9110: If-Match failed
        assert stale.json()["code"] == "VersionMismatch"

        moved = await write(
            client,
            anna,
            f"/v1/risks/{risk_id}/actions/action-4",
            {
                "title": "Failover drill",
                "owner": "user:paul",
                "due_date": "2026-03-27",
                "reason": "olga on leave",
            },
            method="PUT",
        )
        rescheduled = await read(
            client, auditor, "/v1/reports/overdue", moved["position"], as_of="2026-03-25T00:00:00Z"
        )
        assert rescheduled["actions"] == []
        detail = await read(client, auditor, f"/v1/risks/{risk_id}", moved["position"])
        assert (detail["actions"][0]["owner"], detail["actions"][0]["due_date"]) == (
            "user:paul",
            "2026-03-27",
        )
        done = await write(
            client, anna, f"/v1/risks/{risk_id}/actions/action-4/completion", {"note": "ok"}
        )
        clock.now = T0 + timedelta(days=10)
        reassessed = await write(
            client,
            anna,
            f"/v1/risks/{risk_id}/assessments",
            {"likelihood": 5, "impact": 5, "reason": "new attack vector"},
            expect=201,
            version=done["version"],
        )
        risk = await read(client, auditor, f"/v1/risks/{risk_id}", reassessed["position"])
        assert risk["inherent"]["score"] == 25
        assert risk["residual"] == {"likelihood": 2, "impact": 5, "score": 10, "level": "high"}
        assert risk["review_due"] == "2026-06-10"  # high: 90 days from the reassessment
        assert risk["last_reviewed_on"] == "2026-03-12"
        assert risk["actions"][0]["done"] is True

        on_the_day = await read(
            client,
            auditor,
            "/v1/reports/overdue",
            reassessed["position"],
            as_of="2026-06-10T23:59:00Z",
        )
        assert on_the_day["reviews"] == []  # the due date is the last day to do it
        overdue = await read(
            client,
            auditor,
            "/v1/reports/overdue",
            reassessed["position"],
            as_of="2026-06-11T00:00:00Z",
        )
        [due] = [r for r in overdue["reviews"] if r["risk_id"] == risk_id]
        assert due["days_overdue"] == 1
        assert overdue["actions"] == []
        flagged = await read(
            client, auditor, f"/v1/risks/{risk_id}", reassessed["position"], as_of="2026-06-11"
        )
        assert flagged["review_overdue"] is True

        closed = await write(
            client, anna, f"/v1/risks/{risk_id}/closure", {"reason": "system decommissioned"}
        )
        refused = await client.post(
            f"/v1/risks/{risk_id}/reviews", json={"note": "late"}, headers=anna
        )
        assert refused.status_code == 409
        assert refused.json()["code"] == "RiskClosed"

        history = (await client.get(f"/v1/risks/{risk_id}/history", headers=auditor)).json()
        assert [e["event_type"] for e in history["events"]] == [
            "risk.RiskIdentified",
            "risk.RiskControlAdded",
            "risk.RiskTreatmentSet",
            "risk.RiskActionPlanned",
            "risk.RiskActionChanged",
            "risk.RiskActionCompleted",
            "risk.RiskReassessed",
            "risk.RiskClosed",
        ]
        assert {e["actor"] for e in history["events"]} == {"user:anna"}
        assert history["events"][6]["data"]["reason"] == "new attack vector"
        assert history["events"][-1]["version"] == closed["version"] == 8


async def test_register_filters_pages_and_the_heat_map(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    anna = as_role("risk-officer", subject="user:anna")
    controller = as_role("controller")
    specs = [
        ("credit", "user:olga", 5, 5),
        ("credit", "user:olga", 5, 5),
        ("credit", "user:paul", 2, 3),
        ("market", "user:olga", 1, 1),
        ("it", "user:paul", 4, 2),
    ]
    written = [
        await write(
            risk_client,
            anna,
            "/v1/risks",
            risk_body(category=c, owner=o, likelihood=li, impact=im, title=f"Risk {n}"),
            expect=201,
        )
        for n, (c, o, li, im) in enumerate(specs)
    ]
    control = await write(
        risk_client,
        anna,
        f"/v1/risks/{written[0]['id']}/controls",
        {"name": "Netting", "effectiveness": "strong", "reduces": "impact"},
        expect=201,
    )
    soon = (datetime.now(UTC) + timedelta(days=5)).date().isoformat()
    action = await write(
        risk_client,
        anna,
        f"/v1/risks/{written[3]['id']}/actions",
        {"title": "Review model", "owner": "user:olga", "due_date": soon},
        expect=201,
    )
    position = max(action["position"], control["position"], *(w["position"] for w in written))

    heat = await read(risk_client, controller, "/v1/reports/heat-map", position)
    assert heat["total"] == 5
    assert heat["inherent"][4][4] == 2  # likelihood 5, impact 5
    assert heat["residual"][4][4] == 1
    assert heat["residual"][4][1] == 1  # the controlled one: 5 x 2, high
    assert heat["inherent"][1][2] == heat["inherent"][0][0] == heat["inherent"][3][1] == 1
    assert heat["levels"][4][4] == "critical" and heat["levels"][0][0] == "low"
    credit = await read(
        risk_client, controller, "/v1/reports/heat-map", position, category="credit"
    )
    assert credit["total"] == 3
    olga = await read(risk_client, controller, "/v1/reports/heat-map", position, owner="user:olga")
    assert olga["total"] == 3 and olga["inherent"][0][0] == 1

    critical = await read(risk_client, controller, "/v1/risks", position, level="critical")
    assert [r["title"] for r in critical["items"]] == ["Risk 1"]
    inherent_critical = await read(
        risk_client, controller, "/v1/risks", position, inherent_level="critical"
    )
    assert [r["title"] for r in inherent_critical["items"]] == ["Risk 0", "Risk 1"]
    paul = await read(risk_client, controller, "/v1/risks", position, owner="user:paul")
    assert [r["title"] for r in paul["items"]] == ["Risk 2", "Risk 4"]

    first = await read(risk_client, controller, "/v1/risks", position, limit=2)
    second = await read(
        risk_client, controller, "/v1/risks", position, limit=2, cursor=first["next_cursor"]
    )
    third = await read(
        risk_client, controller, "/v1/risks", position, limit=2, cursor=second["next_cursor"]
    )
    titles = [r["title"] for page in (first, second, third) for r in page["items"]]
    assert titles == [f"Risk {n}" for n in range(5)]
    assert third["next_cursor"] is None

    # Critical reviews are due in 30 days, Risk 3's action in 5: as of day 31 both are
    # overdue, the rest are not; as of day 6 only the action is.
    later = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    overdue = await read(
        risk_client, controller, "/v1/risks", position, overdue="true", as_of=later
    )
    assert [r["title"] for r in overdue["items"]] == ["Risk 1", "Risk 3"]
    sooner = (datetime.now(UTC) + timedelta(days=6)).isoformat()
    overdue = await read(
        risk_client, controller, "/v1/risks", position, overdue="true", as_of=sooner
    )
    assert [r["title"] for r in overdue["items"]] == ["Risk 3"]
    unknown = await risk_client.get("/v1/risks", headers=controller, params={"category": "x"})
    assert unknown.status_code == 422


async def test_refusals_name_the_problem_and_write_nothing(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    anna = as_role("risk-officer", subject="user:anna")

    bad = await risk_client.post("/v1/risks", json=risk_body(likelihood=6), headers=anna)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "likelihood" in bad.json()["field"]

    unknown = await risk_client.post("/v1/risks", json=risk_body(colour="red"), headers=anna)
    assert unknown.status_code == 422

    controller = await risk_client.post(
        "/v1/risks", json=risk_body(), headers=as_role("controller")
    )
    assert controller.status_code == 403
    front = await risk_client.post(
        "/v1/risks", json=risk_body(), headers=as_role("risk-officer", office="front")
    )
    assert front.status_code == 403
    assert front.json()["code"] == "BackOfficeRequired"
    trader = await risk_client.get("/v1/risks", headers=as_role("trader", office="front"))
    assert trader.status_code == 403
    anonymous = await risk_client.get("/v1/risks")
    assert anonymous.status_code == 401

    missing = await risk_client.get("/v1/risks/nope", headers=anna)
    assert missing.status_code == 404
    missing_control = await risk_client.post(
        "/v1/risks/nope/controls",
        json={"name": "x", "effectiveness": "weak"},
        headers=anna,
    )
    assert missing_control.status_code == 404
    bad_if_match = await risk_client.put(
        "/v1/risks/nope/treatment",
        json={"treatment": "avoid", "reason": "r"},
        headers={**anna, "If-Match": "abc"},
    )
    assert bad_if_match.status_code == 422
    assert bad_if_match.json()["field"] == "If-Match"

    listed = await risk_client.get("/v1/risks", headers=anna, params={"status": "all"})
    assert listed.json()["items"] == []


async def test_an_idempotent_retry_identifies_the_risk_once(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    anna = {**as_role("risk-officer", subject="user:anna"), "Idempotency-Key": "risk-42"}

    first = await write(risk_client, anna, "/v1/risks", risk_body(), expect=201)
    again = await write(risk_client, anna, "/v1/risks", risk_body(), expect=201)
    other = await risk_client.post("/v1/risks", json=risk_body(title="Other"), headers=anna)

    assert again == first
    assert other.status_code == 422
    page = await read(risk_client, anna, "/v1/risks", first["position"])
    assert [r["risk_id"] for r in page["items"]] == [first["id"]]


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


async def snapshot(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    page = (await client.get("/v1/risks", headers=headers, params={"status": "all"})).json()
    details = [
        (await client.get(f"/v1/risks/{r['risk_id']}", headers=headers)).json()
        for r in page["items"]
    ]
    heat = (await client.get("/v1/reports/heat-map", headers=headers)).json()
    overdue = (
        await client.get(
            "/v1/reports/overdue", headers=headers, params={"as_of": "2030-01-01T00:00:00Z"}
        )
    ).json()
    return {"page": page, "details": details, "heat": heat, "overdue": overdue}


async def test_a_rebuild_of_the_register_view_equals_the_live_one(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    anna = as_role("risk-officer", subject="user:anna")
    bert = as_role("risk-officer", subject="user:bert")
    last = 0
    ids = []
    for n in range(4):
        made = await write(
            risk_client, anna, "/v1/risks", risk_body(title=f"R{n}", likelihood=n + 1), expect=201
        )
        ids.append(made["id"])
        last = made["position"]
    r0, r1, r2, _ = ids
    await write(
        risk_client,
        anna,
        f"/v1/risks/{r0}/controls",
        {"name": "Limits", "effectiveness": "weak", "reduces": "impact"},
        expect=201,
    )
    await write(
        risk_client,
        anna,
        f"/v1/risks/{r0}/controls",
        {"name": "Stops", "effectiveness": "moderate"},
        expect=201,
    )
    await write(
        risk_client, anna, f"/v1/risks/{r0}/controls/control-2/removal", {"reason": "replaced"}
    )
    await write(
        risk_client,
        anna,
        f"/v1/risks/{r1}/actions",
        {"title": "Train staff", "owner": "user:olga", "due_date": "2026-01-15"},
        expect=201,
    )
    await write(
        risk_client,
        anna,
        f"/v1/risks/{r1}/treatment",
        {"treatment": "accept", "reason": "cheap to live with"},
        method="PUT",
    )
    asked = await write(
        risk_client,
        anna,
        f"/v1/risks/{r1}/acceptances",
        {"reason": "low impact", "until": in_days(300)},
        expect=201,
    )
    await write(risk_client, bert, f"/v1/risks/{r1}/acceptances/{asked['child_id']}/approval", {})
    await write(
        risk_client,
        anna,
        f"/v1/risks/{ids[3]}/details",
        {
            "title": "R3 renamed",
            "category": "compliance",
            "owner": "user:paul",
            "reason": "new owner",
        },
        method="PUT",
        version=1,
    )
    done = await write(risk_client, anna, f"/v1/risks/{r2}/closure", {"reason": "obsolete"})
    last = max(last, done["position"])
    await read(risk_client, anna, "/v1/risks", last)

    before = await snapshot(risk_client, anna)
    assert len(before["details"]) == 4
    service = risk_client.risk  # type: ignore[attr-defined]
    projection = next(p for p in service.runtime.projections if p.name.startswith("register"))
    report = await rebuild(
        projection,
        service.runtime.read_models[projection.name],
        service.runtime.settings.kafka_bootstrap_servers,
        service.runtime.dead_letters(),
    )
    after = await snapshot(risk_client, anna)

    assert report.generation == 2
    assert after == before
    assert before["details"][1]["acceptance"]["status"] == "approved"
    assert before["details"][3]["title"] == "R3 renamed"
    assert before["details"][3]["category"] == "compliance"
