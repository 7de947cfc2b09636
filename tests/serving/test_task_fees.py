"""Fixed task fees are settled with the commission (issue 22): once a deliverable passes QA its fee is part of the
creator's available balance, the next withdrawal pays commission + fee (one of four concurrent withdrawals), a
later withdrawal never pays that fee again, and both statements show the fee as paid."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.serving.conftest import key
from tests.serving.test_tasks import CORRECTED, task_body
from tests.serving.withdrawing import withdraw, withdraw_at_once

pytestmark = pytest.mark.backends("sqlite", "postgresql")

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def settled(client, env):  # type: ignore[no-untyped-def]
    """Adds a settled order of ``amount`` (15% plan, confirmed 30 days ago) for the world's creator."""
    from recsys.core.store import Store, now_utc
    from serving.ledger_store import settle_orders

    w, now = env.world, now_utc().replace(microsecond=0)
    store = Store.from_settings(env.settings)
    plan = {"plan_id": "pl-fee", "product_id": w.product, "plan_type": "open", "commission_rate": 0.15}
    plan["starts_at"] = (now - 90 * DAY).isoformat() + "Z"
    assert client.post("/v1/plans", json=plan, headers=key(w, "merchant")).status_code == 201
    promotion = {k: (v.item() if hasattr(v, "item") else v) for k, v in store.read_table("promotions").iloc[0].items()}
    promotion.update(promotion_id="fee-pr", creator_id=w.creator, product_id=w.product, plan_id="pl-fee")
    promotion["started_at"] = (now - 60 * DAY).isoformat() + "Z"
    _post(client, env, [{"event_id": "fee-e-pr", "kind": "promotion", "data": promotion}])
    count = iter(range(1, 100))

    def add(amount: float) -> None:
        n = next(count)
        data = {
            "order_id": f"fee-o{n}",
            "promotion_id": "fee-pr",
            "amount": amount,
            "created_at": (now - 40 * DAY).isoformat() + "Z",
            "confirmed_at": (now - 30 * DAY).isoformat() + "Z",
            "refunded_at": None,
            "status": "confirmed",
        }
        _post(client, env, [{"event_id": f"fee-e-o{n}", "kind": "order", "data": data}])
        assert settle_orders(store, now, env.settings).orders == 1

    yield add
    store.dispose()


def _post(client, env, events: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    res = client.post("/v1/events", json={"events": events}, headers=key(env.world, "admin"))
    assert res.status_code == 200 and res.json()["accepted"] == len(events), res.text


def _ok(res: Any, status: int = 200) -> dict[str, Any]:
    assert res.status_code == status, res.text
    return dict(res.json())


@pytest.fixture(scope="module")
def deliverables(client, env) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """A task with a 300.00 fee per deliverable the world's creator applied to and was accepted on: its two
    deliverables (videos), still to create."""
    w = env.world
    body = task_body(w.product, deliverables=[{"format": "video", "quantity": 2}])
    task = _ok(client.post("/v1/tasks", json=body, headers=key(w, "merchant")), 201)["task_id"]
    _ok(client.post(f"/v1/tasks/{task}/applications", json={}, headers=key(w, "creator")), 201)
    _ok(client.post(f"/v1/tasks/{task}/participants/{w.creator}/accept", headers=key(w, "merchant")))
    first, second = _ok(client.get(f"/v1/tasks/{task}/deliverables", headers=key(w, "creator")))["items"]
    return task, str(first["deliverable_id"]), str(second["deliverable_id"])


def _pass_qa(client, env, task: str, dlv: str) -> None:  # type: ignore[no-untyped-def]
    """Draft → approved → final link → the merchant's QA."""
    creator, merchant = key(env.world, "creator"), key(env.world, "merchant")
    draft = _ok(
        client.post(f"/v1/tasks/{task}/submissions", json={"deliverable_id": dlv, "text": CORRECTED}, headers=creator),
        201,
    )
    review = f"/v1/tasks/{task}/submissions/{draft['submission_id']}/review"
    _ok(client.post(review, json={"decision": "approve"}, headers=merchant))
    final = {"deliverable_id": dlv, "text": CORRECTED, "content_link": "https://v.example.com/fee"}
    assert (
        _ok(client.post(f"/v1/tasks/{task}/submissions", json=final, headers=creator), 201)["deliverable_state"]
        == "done"
    )
    qa = _ok(
        client.post(
            f"/v1/tasks/{task}/deliverables/{dlv}/transitions", json={"to_state": "passed_qa"}, headers=merchant
        )
    )
    assert qa["state"] == "passed_qa"


def _statement(client, env) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return _ok(client.get(f"/v1/creators/{env.world.creator}/statement", headers=key(env.world, "creator")))


def test_a_fee_that_passed_qa_is_withdrawn_once_with_the_commission(client, env, settled, deliverables) -> None:  # type: ignore[no-untyped-def]
    w, (task, dlv, _) = env.world, deliverables
    settled(400.00)  # 60.00 commission: under the 100.00 minimum on its own
    assert _statement(client, env)["balance"]["available"] == "60.00"
    assert withdraw(client, env, "before-qa").status_code == 409

    _pass_qa(client, env, task, dlv)
    body = _statement(client, env)
    assert (body["balance"]["paid"], body["balance"]["available"], body["balance"]["can_withdraw"]) == (
        "60.00",
        "360.00",
        True,
    )
    assert (body["fees"]["owed_total"], body["fees"]["available"], body["fees"]["withdrawn"]) == (
        "300.00",
        "300.00",
        "0.00",
    )

    answers = withdraw_at_once(client, env, [f"fee-race-{i}" for i in range(4)])
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409], [a.text for a in answers]
    made = next(a.json() for a in answers if a.status_code == 201)
    assert {k: made[k] for k in ("amount", "commission", "fees", "fee_count", "order_count")} == {
        "amount": "360.00",
        "commission": "60.00",
        "fees": "300.00",
        "fee_count": 1,
        "order_count": 1,
    }
    retry = withdraw(client, env, made["client_key"])  # the same key: the same withdrawal, same split
    assert retry.status_code == 200 and retry.json() == made
    assert withdraw(client, env, "after").status_code == 409  # nothing left: the fee is not paid again

    settled(1000.00)  # + 150.00 commission
    second = _ok(withdraw(client, env, "second"), 201)
    assert (second["amount"], second["commission"], second["fees"], second["fee_count"]) == (
        "150.00",
        "150.00",
        "0.00",
        0,
    )
    body = _statement(client, env)
    assert body["balance"] | {"can_withdraw": None} == {
        "paid": "210.00",
        "withdrawn": "510.00",
        "available": "0.00",
        "withdrawal_min_balance": "100.00",
        "can_withdraw": None,
    }
    paid_line = {
        "task_id": task,
        "creator_id": w.creator,
        "deliverables_passed_qa": 1,
        "deliverables_paid": 1,
        "owed": "300.00",
        "paid": "300.00",
        "unpaid": "0.00",
    }
    assert (body["fees"]["available"], body["fees"]["withdrawn"], body["fees"]["settlement"]) == (
        "0.00",
        "300.00",
        [paid_line],
    )
    listed = _ok(client.get(f"/v1/creators/{w.creator}/withdrawals", headers=key(w, "creator")))["items"]
    assert [(i["withdrawal_id"], i["fees"], i["fee_count"]) for i in listed] == [
        (second["withdrawal_id"], "0.00", 0),
        (made["withdrawal_id"], "300.00", 1),
    ]
    merchant = _ok(client.get(f"/v1/merchants/{w.merchant}/statement", headers=key(w, "merchant")))["fees"]
    assert (merchant["owed_total"], merchant["withdrawn"], merchant["settlement"]) == ("300.00", "300.00", [paid_line])


def test_a_withdrawal_of_fees_only_covers_no_order(client, env, deliverables) -> None:  # type: ignore[no-untyped-def]
    task, _, dlv = deliverables
    _pass_qa(client, env, task, dlv)
    assert _statement(client, env)["balance"]["available"] == "300.00"  # the commission was all withdrawn
    made = _ok(withdraw(client, env, "fees-only"), 201)
    assert {k: made[k] for k in ("amount", "commission", "fees", "fee_count", "order_count")} == {
        "amount": "300.00",
        "commission": "0.00",
        "fees": "300.00",
        "fee_count": 1,
        "order_count": 0,
    }
    body = _statement(client, env)
    assert (body["balance"]["paid"], body["balance"]["withdrawn"], body["balance"]["available"]) == (
        "210.00",
        "810.00",
        "0.00",
    )
    (line,) = body["fees"]["settlement"]
    assert (line["deliverables_passed_qa"], line["deliverables_paid"], line["owed"], line["paid"]) == (
        2,
        2,
        "600.00",
        "600.00",
    )
    assert withdraw(client, env, "fees-again").status_code == 409
