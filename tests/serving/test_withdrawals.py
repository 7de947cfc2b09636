"""Withdrawals through HTTP: refused under the minimum, idempotent by key under 8 concurrent retries, and never
more than the balance under 8 concurrent requests with different keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.serving.conftest import key
from tests.serving.withdrawing import withdraw, withdraw_at_once

pytestmark = pytest.mark.backends("sqlite", "postgresql")

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def store(env):  # type: ignore[no-untyped-def]
    from recsys.core.store import Store

    store = Store.from_settings(env.settings)
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def now():  # type: ignore[no-untyped-def]
    from recsys.core.store import now_utc

    return now_utc().replace(microsecond=0)


def _iso(value: Any) -> str:
    return str(value.isoformat()) + "Z"


@pytest.fixture(scope="module")
def paid(client, env, store, now):  # type: ignore[no-untyped-def]
    """Adds a settled order of ``amount`` (15% plan, confirmed 30 days ago) for the world's creator."""
    from serving.ledger_store import settle_orders

    w = env.world
    plan = {"plan_id": "pl-wd", "product_id": w.product, "plan_type": "open", "commission_rate": 0.15}
    plan["starts_at"] = _iso(now - 90 * DAY)
    assert client.post("/v1/plans", json=plan, headers=key(w, "merchant")).status_code == 201
    promotion = {k: (v.item() if hasattr(v, "item") else v) for k, v in store.read_table("promotions").iloc[0].items()}
    promotion.update(promotion_id="wd-pr", creator_id=w.creator, product_id=w.product, plan_id="pl-wd")
    promotion["started_at"] = _iso(now - 60 * DAY)
    _post(client, env, [{"event_id": "wd-e-pr", "kind": "promotion", "data": promotion}])
    count = iter(range(1, 100))

    def add(amount: float) -> None:
        n = next(count)
        data = {
            "order_id": f"wd-o{n}",
            "promotion_id": "wd-pr",
            "amount": amount,
            "created_at": _iso(now - 40 * DAY),
            "confirmed_at": _iso(now - 30 * DAY),
            "refunded_at": None,
            "status": "confirmed",
        }
        _post(client, env, [{"event_id": f"wd-e-o{n}", "kind": "order", "data": data}])
        assert settle_orders(store, now, env.settings).orders == 1

    return add


def _post(client, env, events: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    res = client.post("/v1/events", json={"events": events}, headers=key(env.world, "admin"))
    assert res.status_code == 200 and res.json()["accepted"] == len(events), res.text


def _balance(client, env) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    res = client.get(f"/v1/creators/{env.world.creator}/statement", headers=key(env.world, "creator"))
    assert res.status_code == 200, res.text
    return dict(res.json()["balance"])


def test_withdrawals_are_refused_under_the_minimum_and_made_once_per_key(client, env, paid) -> None:  # type: ignore[no-untyped-def]
    paid(400.00)  # 60.00 commission: under the 100.00 minimum
    low = withdraw(client, env, "first")
    assert low.status_code == 409, low.text
    error = low.json()["error"]
    assert error["code"] == "withdrawal_balance_below_minimum" and error["details"][0]["available"] == "60.00"

    paid(600.00)  # + 90.00 = 150.00
    answers = withdraw_at_once(client, env, ["payout-1"] * 8)
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert len({b["withdrawal_id"] for b in bodies}) == 1
    assert bodies[0]["amount"] == "150.00" and bodies[0]["currency"] == "CNY" and bodies[0]["order_count"] == 2
    retry = withdraw(client, env, "payout-1")
    assert retry.status_code == 200 and retry.json() == bodies[0]
    assert withdraw(client, env, "payout-2").status_code == 409  # the money is gone: nothing left to take
    assert _balance(client, env) | {"can_withdraw": None} == {
        "paid": "150.00",
        "withdrawn": "150.00",
        "available": "0.00",
        "withdrawal_min_balance": "100.00",
        "can_withdraw": None,
    }


def test_concurrent_withdrawals_with_different_keys_never_take_more_than_the_balance(client, env, paid) -> None:  # type: ignore[no-untyped-def]
    before = _balance(client, env)
    paid(1000.00)  # + 150.00 available
    answers = withdraw_at_once(client, env, [f"race-{i}" for i in range(8)])
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 7, [a.text for a in answers]
    made = next(a.json() for a in answers if a.status_code == 201)
    assert made["amount"] == "150.00" and made["order_count"] == 1
    after = _balance(client, env)
    assert after["available"] == "0.00" and after["paid"] == after["withdrawn"]
    assert float(after["withdrawn"]) == float(before["withdrawn"]) + 150.0
    listed = client.get(f"/v1/creators/{env.world.creator}/withdrawals", headers=key(env.world, "creator")).json()
    assert len(listed["items"]) == 2 and listed["items"][0]["withdrawal_id"] == made["withdrawal_id"]  # newest first
    assert sum(float(i["amount"]) for i in listed["items"]) == float(after["withdrawn"])


def test_only_the_creator_and_the_admin_withdraw_and_a_key_is_required(client, env) -> None:  # type: ignore[no-untyped-def]
    missing = withdraw(client, env, None)
    assert missing.status_code == 422 and "Idempotency-Key" in missing.json()["error"]["message"]
    for who in ("other_creator", "merchant"):
        res = withdraw(client, env, "k", who)
        assert res.status_code == 403 and res.json()["error"]["code"] == "forbidden", who
        listed = client.get(f"/v1/creators/{env.world.creator}/withdrawals", headers=key(env.world, who))
        assert listed.status_code == 403
    unknown = client.post("/v1/creators/nobody/withdrawals", headers=key(env.world, "admin") | {"Idempotency-Key": "k"})
    assert unknown.status_code == 404
