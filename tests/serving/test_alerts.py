"""Stop-loss alerts through HTTP: collaborations seeded as events, judged by the rule against the live model's GPM."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest

from recsys.core.store import now_utc
from tests.serving.conftest import key

_ids = itertools.count()
VIEWS = 40_000  # above rules.stop_loss_min_views (10,000)


def _score(client, env, creator: str, product: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body = {"pairs": [{"creator_id": creator, "product_id": product}], "format": "video"}
    res = client.post("/v1/score", json=body, headers=key(env.world, "admin"))
    assert res.status_code == 200, res.text
    item: dict[str, Any] = res.json()["items"][0]
    return item


def _promote(client, env, creator: str, product: str, plan_id: str, views: int, gmv: float) -> None:  # type: ignore[no-untyped-def]
    """One promotion of ``creator`` for ``product`` under ``plan_id``, started 3 days ago, as an event."""
    orders = 0 if gmv == 0 else min(views // 40, 1_000)
    data = {
        "promotion_id": f"pr-alert-{next(_ids)}",
        "creator_id": creator,
        "product_id": product,
        "plan_id": plan_id,
        "started_at": (now_utc() - timedelta(days=3)).isoformat(),
        "format": "video",
        "views": views,
        "likes": views // 50,
        "comments": views // 500,
        "shares": views // 1000,
        "completion_rate": 0.4,
        "clicks": views // 20,
        "orders": orders,
        "gmv": gmv,
        "refunds": 0,
    }
    event = {"event_id": f"ev-{data['promotion_id']}", "kind": "promotion", "data": data}
    answer = client.post("/v1/events", json={"events": [event]}, headers=key(env.world, "admin")).json()
    assert answer["results"][0]["status"] == "accepted", answer["results"][0]["reason"]


def _ship_sample(client, env, creator_key: str) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.post(f"/v1/products/{w.product}/sample-requests", json={}, headers=key(w, creator_key))
    assert res.status_code == 201, res.text
    request_id = res.json()["request_id"]
    for step in ("approve", "ship"):
        done = client.post(f"/v1/sample-requests/{request_id}/{step}", headers=key(w, "merchant"))
        assert done.status_code == 200, done.text


@pytest.fixture(scope="module")
def seeded(client, env) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Under-performing, good and too-young collaborations of the world's merchant; one on a listed plan."""
    w = env.world
    _ship_sample(client, env, "creator")
    pair = _score(client, env, w.creator, w.product)  # world.creator may join it: the product's open plan
    plan = pair["plan_id"]
    _promote(client, env, w.creator, w.product, plan, VIEWS, 0.0)  # a sample was shipped
    _promote(client, env, w.unlisted_creator, w.product, plan, VIEWS, 0.0)
    _promote(client, env, w.other_creator, w.product, plan, VIEWS, 400_000.0)  # GPM 10,000
    _promote(client, env, w.listed_creator, w.product, plan, 500, 0.0)  # too few views to judge
    _promote(client, env, w.listed_creator, w.listed_product, w.listed_plan, VIEWS, 0.0)
    return {"plan_id": plan, "pair": pair}


def _alerts(client, env, merchant: str, who: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    res = client.get(f"/v1/merchants/{merchant}/alerts", headers=key(env.world, who))
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def test_an_under_performing_collaboration_raises_an_alert_and_a_good_one_does_not(client, env, seeded) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = _alerts(client, env, w.merchant, "merchant")
    by_creator = {a["creator_id"]: a for a in body["items"] if a["product_id"] == w.product}
    assert set(by_creator) == {w.creator, w.unlisted_creator}  # not the good one, not the one with 500 views
    assert body["insufficient_views"] >= 1 and body["min_views"] == 10_000
    bad = by_creator[w.unlisted_creator]
    assert bad["views"] == VIEWS and bad["realized_gmv"] == 0.0 and bad["realized_gpm"] == 0.0
    assert bad["predicted_gpm"] > 0 and bad["gpm_ratio"] == 0.0 and bad["plan_id"] == seeded["plan_id"]
    assert bad["suggested_action"] == "pause" and not bad["sample_sent"]
    assert bad["since"][:10] == (now_utc() - timedelta(days=3)).date().isoformat()
    assert bad["explanation"].endswith(".") and "pause" in bad["explanation"]
    sampled = by_creator[w.creator]
    assert sampled["sample_sent"] and sampled["suggested_action"] == "stop_samples"


def test_predicted_gpm_is_the_one_the_api_shows_for_the_pair(client, env, seeded) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = _alerts(client, env, w.merchant, "admin")
    sampled = next(a for a in body["items"] if a["creator_id"] == w.creator)
    shown = seeded["pair"]["predicted_gpm"]  # /v1/score for the pair, same format and plan
    assert shown > 0 and sampled["predicted_gpm"] == pytest.approx(shown, rel=1e-3, abs=0.01)
    pool = client.get(f"/v1/creators/{w.creator}/products", headers=key(w, "creator")).json()["items"]
    assert pool and all(item["predicted_gpm"] >= 0 for item in pool) and any(i["predicted_gpm"] > 0 for i in pool)


def test_a_listed_plan_suggests_lowering_the_targeted_rate(client, env, seeded) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = _alerts(client, env, w.listed_merchant, "listed_merchant")
    listed = [a for a in body["items"] if a["product_id"] == w.listed_product and a["creator_id"] == w.listed_creator]
    assert len(listed) == 1
    assert listed[0]["plan_type"] in ("targeted", "exclusive")
    assert listed[0]["suggested_action"] == "lower_targeted_rate"


def test_alerts_are_counted_once_in_prometheus(client, env, seeded) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    for _ in range(2):  # reading the alerts again raises nothing new
        _alerts(client, env, w.merchant, "merchant")
    text = client.get("/metrics").text
    counted = {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("recsys_stop_loss_alerts_total{")
    }
    assert counted.get("pause") == 1.0 and counted.get("stop_samples") == 1.0


def test_only_the_merchant_and_the_admin_see_alerts(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    url = f"/v1/merchants/{w.merchant}/alerts"
    assert client.get(url, headers=key(w, "other_merchant")).status_code == 403
    assert client.get(url, headers=key(w, "creator")).status_code == 403
    assert client.get(url).status_code == 401
    missing = client.get("/v1/merchants/m-nobody/alerts", headers=key(w, "admin"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_merchant"
