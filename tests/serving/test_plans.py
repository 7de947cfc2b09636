"""Plans API: every refusal carries the rules' reason code; edits reach recommendations at once, and other workers
see them too (how fast: `python -m bench.refresh`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.serving.conftest import TestClient, key

pytestmark = pytest.mark.backends("sqlite", "postgresql")

FUTURE = "2099-01-01T00:00:00Z"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _plan(w, **fields: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"product_id": w.product, "plan_type": "open", "commission_rate": 0.1, "starts_at": FUTURE, **fields}


REFUSALS = [
    ({"commission_rate": 0.95}, "plan_commission_out_of_bounds"),
    ({"commission_rate": 0.001}, "plan_commission_out_of_bounds"),
    (
        {"plan_type": "tiered", "tiers": [{"min_amount": 100, "rate": 0.2}, {"min_amount": 50, "rate": 0.25}]},
        "plan_tiers_not_increasing",
    ),
    (
        {"plan_type": "tiered", "commission_rate": 0.2, "tiers": [{"min_amount": 100, "rate": 0.1}]},
        "plan_tier_rates_decreasing",
    ),
    ({"plan_type": "tiered", "tiers": [{"min_amount": 100, "rate": 0.9}]}, "plan_tier_rate_out_of_bounds"),
    ({"plan_type": "tiered"}, "plan_tiers_missing"),
    ({"tiers": [{"min_amount": 100, "rate": 0.2}]}, "plan_tiers_not_allowed"),
    ({"plan_type": "exclusive"}, "plan_listed_creators_missing"),
    ({"plan_type": "targeted", "creator_ids": ["no-such-creator"]}, "plan_listed_creator_unknown"),
    ({"creator_ids": ["c00001"]}, "plan_listed_creators_forbidden"),
    ({"ends_at": "2098-01-01T00:00:00Z"}, "plan_window_invalid"),
    ({"budget": -5}, "plan_budget_invalid"),
    ({"min_followers": -1}, "plan_min_followers_invalid"),
]


@pytest.mark.parametrize(("fields", "code"), REFUSALS, ids=[c for _, c in REFUSALS])
def test_a_refused_plan_names_its_reason(client, env, fields: dict[str, Any], code: str) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.post("/v1/plans", json=_plan(w, **fields), headers=key(w, "merchant"))
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert error["code"] == "plan_refused"
    assert code in {d["code"] for d in error["details"]}
    assert all(d["message"] for d in error["details"])


def test_unknown_product_and_taken_id(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.post("/v1/plans", json=_plan(w, product_id="no-such-product"), headers=key(w, "admin"))
    assert res.status_code == 422 and res.json()["error"]["details"][0]["code"] == "plan_product_unknown"
    body = _plan(w, plan_id="taken-1")
    assert client.post("/v1/plans", json=body, headers=key(w, "merchant")).status_code == 201
    again = client.post("/v1/plans", json=body, headers=key(w, "merchant"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "plan_exists"
    typo = client.post(
        "/v1/plans", json={**body, "plan_id": "taken-2", "comission_rate": 0.2}, headers=key(w, "merchant")
    )
    assert typo.status_code == 422 and typo.json()["error"]["details"][0]["loc"] == ["body", "comission_rate"]


@pytest.fixture
def launched_clock(app):  # type: ignore[no-untyped-def]
    """Override the clock dependency: it is mid-2099, so plans starting 2099-01-01 have launched."""
    from serving.deps import get_clock

    app.dependency_overrides[get_clock] = lambda: lambda: datetime(2099, 6, 1)
    yield
    app.dependency_overrides.pop(get_clock, None)


def test_before_launch_anything_may_change(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    created = client.post("/v1/plans", json=_plan(w, plan_id="pre-1", commission_rate=0.2), headers=key(w, "merchant"))
    assert created.status_code == 201 and created.json()["status"] == "scheduled"
    res = client.patch(
        "/v1/plans/pre-1",
        json={"commission_rate": 0.15, "plan_type": "tiered", "tiers": [{"min_amount": 10, "rate": 0.2}]},
        headers=key(w, "merchant"),
    )
    assert res.status_code == 200, res.text
    assert res.json()["plan_type"] == "tiered" and res.json()["tiers"] == [[10.0, 0.2]]


AFTER_LAUNCH = [
    ({"commission_rate": 0.1}, "plan_rate_decreased_after_launch"),
    ({"plan_type": "targeted", "creator_ids": ["c00001"]}, "plan_type_changed_after_launch"),
    ({"starts_at": "2099-02-01T00:00:00Z"}, "plan_start_changed_after_launch"),
    ({"tiers": [{"min_amount": 50, "rate": 0.25}]}, "plan_tier_rate_decreased_after_launch"),
    ({"tier_basis": "gmv"}, "plan_tier_basis_changed_after_launch"),
]


@pytest.mark.usefixtures("launched_clock")
def test_after_launch_commission_only_rises(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = _plan(w, plan_id="post-1", plan_type="tiered", commission_rate=0.2, tiers=[{"min_amount": 20, "rate": 0.25}])
    assert client.post("/v1/plans", json=body, headers=key(w, "merchant")).status_code == 201
    for fields, code in AFTER_LAUNCH:
        res = client.patch("/v1/plans/post-1", json=fields, headers=key(w, "merchant"))
        assert res.status_code == 422, (fields, res.text)
        assert code in {d["code"] for d in res.json()["error"]["details"]}, (fields, res.json())
    higher = {"commission_rate": 0.22, "tiers": [{"min_amount": 20, "rate": 0.3}]}
    raised = client.patch("/v1/plans/post-1", json=higher, headers=key(w, "merchant"))
    assert raised.status_code == 200 and raised.json()["commission_rate"] == 0.22
    assert client.get("/v1/plans/post-1", headers=key(w, "merchant")).json()["status"] == "active"


def _pool_entry(client, w, creator: str) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    items = client.get(f"/v1/creators/{creator}/products", params={"k": 50}, headers=key(w, "admin")).json()["items"]
    return next((i for i in items if i["product_id"] == w.product), None)


def test_a_plan_edit_shows_up_in_the_pool_at_once(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    before = _pool_entry(client, w, w.creator)
    assert before is not None and before["plan_type"] in ("open", "tiered")
    start = (_now() - timedelta(hours=1)).isoformat()
    body = {
        "plan_id": "excl-1",
        "product_id": w.product,
        "plan_type": "exclusive",
        "commission_rate": 0.5,
        "creator_ids": [w.creator],
        "starts_at": start,
    }
    assert client.post("/v1/plans", json=body, headers=key(w, "merchant")).status_code == 201
    after = _pool_entry(client, w, w.creator)
    assert after is not None and after["plan_id"] == "excl-1" and after["commission_rate"] == 0.5
    other = _pool_entry(client, w, w.other_creator)
    assert other is None or other["plan_id"] != "excl-1"
    ended = client.patch(
        "/v1/plans/excl-1", json={"ends_at": (_now() - timedelta(minutes=1)).isoformat()}, headers=key(w, "merchant")
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    back = _pool_entry(client, w, w.creator)
    assert back is not None and back["plan_id"] == before["plan_id"]


def _wait_until(check, timeout_s: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    """Ask ``check()`` until it holds or ``timeout_s`` passes (a bound for a hung worker, not a speed target)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_another_worker_sees_the_edit(client, env) -> None:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    w = env.world
    with TestClient(create_app(env.settings)) as second:  # a second worker on the same store

        def plans_listed(creator: str) -> set[str]:
            res = second.get(f"/v1/creators/{creator}/products", params={"k": 20}, headers=key(w, "admin"))
            assert res.status_code == 200, res.text
            return {i["plan_id"] for i in res.json()["items"]}

        pool = second.get(f"/v1/creators/{w.other_creator}/products", params={"k": 1}, headers=key(w, "admin"))
        product = pool.json()["items"][0]["product_id"]
        assert "excl-2" not in plans_listed(w.other_creator)
        start = (_now() - timedelta(hours=1)).isoformat()
        body = {
            "plan_id": "excl-2",
            "product_id": product,
            "plan_type": "exclusive",
            "commission_rate": 0.45,
            "creator_ids": [w.other_creator],
            "starts_at": start,
        }
        assert client.post("/v1/plans", json=body, headers=key(w, "admin")).status_code == 201
        assert _wait_until(lambda: "excl-2" in plans_listed(w.other_creator)), "the second worker never saw the plan"
        # the plan names one creator: the second worker keeps it from everyone else
        assert "excl-2" not in plans_listed(w.creator)
        ended = {"ends_at": (_now() - timedelta(minutes=1)).isoformat()}
        assert client.patch("/v1/plans/excl-2", json=ended, headers=key(w, "admin")).status_code == 200
        assert _wait_until(lambda: "excl-2" not in plans_listed(w.other_creator)), "the ended plan is still listed"
