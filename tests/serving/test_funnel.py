"""Funnel events and the task report through HTTP: a hand-worked report from seeded events, who sees which rows,
the CSV and Parquet exports, and funnel events that are idempotent and quarantined when bad.

The seeded task (``report_task``): merchant M's task on product P with a 300.00 fixed fee per deliverable; creator
A (the world's creator) applies and is accepted, its one deliverable passes QA (fee owed 300.00); creator B (the
world's other creator) is invited and accepts. A targeted plan on P at 20% lists A and B. With t = the task's start:

| event (all on P unless said)                  | counted? |
|---|---|
| A video: exposure 1000, click 50, add_to_cart 10 at t+1h | yes |
| A live: exposure 500, click 40, add_to_cart 5 at t+2h     | yes |
| B video: exposure 2000, click 20, add_to_cart 4 at t+1h   | yes |
| A video exposure 999 at t-1h                  | no: before the task |
| A exposure 777 on another product             | no: not the task's product |
| an unaccepted creator's exposure 555 on P     | no: not on the task |
| A click 33 tagged with another task           | no: another task's content |
| A's promotion (live): orders 100.00 and 50.00 at t+3h | yes |
| A's promotion: an order of 80.00, refunded    | no: refunded |
| A's promotion: an order of 70.00 at t-1h      | no: before the task |
| B's promotion (video): an order of 200.00     | yes |

By hand (commission = 20% of GMV; A's fee 300.00 spread over A's formats by exposure: video 1000/1500 → 200.00,
live 500/1500 → 100.00):
- A: exposure 1500, clicks 90, add-to-cart 15, orders 2, GMV 150.00, commission 30.00, fee 300.00;
  click rate 90/1500 = 0.06, conversion 2/90 = 0.022222, ROI 150 / (30 + 300) = 0.454545
- B: exposure 2000, clicks 20, add-to-cart 4, orders 1, GMV 200.00, commission 40.00, fee 0.00;
  click rate 0.01, conversion 1/20 = 0.05, ROI 200 / 40 = 5.0
- video: A video + B = exposure 3000, clicks 70, add-to-cart 14, orders 1, GMV 200.00, commission 40.00,
  fee 200.00; ROI 200 / 240 = 0.833333
- live: A live = exposure 500, clicks 40, add-to-cart 5, orders 2, GMV 150.00, commission 30.00, fee 100.00;
  ROI 150 / 130 = 1.153846
- total: exposure 3500, clicks 110, add-to-cart 19, orders 3, GMV 350.00, commission 70.00, fee 300.00;
  click rate 110/3500 = 0.031429, conversion 3/110 = 0.027273, ROI 350 / 370 = 0.945946
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from tests.serving.conftest import key
from tests.serving.test_tasks import CORRECTED, task_body


def _at(start: datetime, hours: float) -> str:
    return (start + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def _funnel(event_id: str, kind: str, creator: str, product: str, fmt: str, when: str, count: int, **extra: Any):  # type: ignore[no-untyped-def]
    data = {"creator_id": creator, "product_id": product, "content_format": fmt, "occurred_at": when, "count": count}
    return {"event_id": event_id, "kind": kind, "data": {**data, **extra}}


def _promotion(event_id: str, promotion_id: str, creator: str, product: str, plan: str, fmt: str, when: str):  # type: ignore[no-untyped-def]
    data = {
        "promotion_id": promotion_id,
        "creator_id": creator,
        "product_id": product,
        "plan_id": plan,
        "started_at": when,
        "format": fmt,
        "views": 1000,
        "likes": 10,
        "comments": 1,
        "shares": 1,
        "completion_rate": 0.3,
        "clicks": 100,
        "orders": 4,
        "gmv": 300.0,
        "refunds": 1,
    }
    return {"event_id": event_id, "kind": "promotion", "data": data}


def _order(event_id: str, promotion_id: str, amount: float, when: str, refunded: str | None = None):  # type: ignore[no-untyped-def]
    data = {
        "order_id": event_id,
        "promotion_id": promotion_id,
        "amount": amount,
        "created_at": when,
        "confirmed_at": refunded,
        "refunded_at": refunded,
        "status": "refunded" if refunded else "placed",
    }
    return {"event_id": f"evt-{event_id}", "kind": "order", "data": data}


def _pass_qa(client, task_id: str, creator_headers: dict[str, str], merchant: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    (item,) = client.get(f"/v1/tasks/{task_id}/deliverables", headers=creator_headers).json()["items"]
    dlv = item["deliverable_id"]
    res = client.post(
        f"/v1/tasks/{task_id}/submissions", json={"deliverable_id": dlv, "text": CORRECTED}, headers=creator_headers
    )
    assert res.status_code == 201 and res.json()["passed"], res.text
    review = f"/v1/tasks/{task_id}/submissions/{res.json()['submission_id']}/review"
    assert client.post(review, json={"decision": "approve"}, headers=merchant).status_code == 200
    final = {"deliverable_id": dlv, "text": CORRECTED, "content_link": "https://v.example.com/funnel"}
    assert client.post(f"/v1/tasks/{task_id}/submissions", json=final, headers=creator_headers).status_code == 201
    qa = client.post(
        f"/v1/tasks/{task_id}/deliverables/{dlv}/transitions", json={"to_state": "passed_qa"}, headers=merchant
    )
    assert qa.status_code == 200, qa.text


@pytest.fixture(scope="module")
def report_task(client, env) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    w = env.world
    merchant, admin = key(w, "merchant"), key(w, "admin")
    res = client.post("/v1/tasks", json=task_body(w.product, title="Funnel task"), headers=merchant)
    assert res.status_code == 201, res.text
    task_id = res.json()["task_id"]
    assert client.post(f"/v1/tasks/{task_id}/applications", json={}, headers=key(w, "creator")).status_code == 201
    assert client.post(f"/v1/tasks/{task_id}/participants/{w.creator}/accept", headers=merchant).status_code == 200
    res = client.post(f"/v1/tasks/{task_id}/invitations", json={"creator_ids": [w.other_creator]}, headers=merchant)
    assert res.status_code == 201, res.text
    res = client.post(f"/v1/tasks/{task_id}/participants/{w.other_creator}/accept", headers=key(w, "other_creator"))
    assert res.status_code == 200, res.text
    _pass_qa(client, task_id, key(w, "creator"), merchant)
    start = datetime.fromisoformat(client.get(f"/v1/tasks/{task_id}", headers=merchant).json()["starts_at"])
    plan = {
        "product_id": w.product,
        "plan_type": "targeted",
        "commission_rate": 0.2,
        "creator_ids": [w.creator, w.other_creator],
        "starts_at": _at(start, -48),
    }
    res = client.post("/v1/plans", json=plan, headers=merchant)
    assert res.status_code == 201, res.text
    plan_id = res.json()["plan_id"]
    a, b, p = w.creator, w.other_creator, w.product
    events = [
        _funnel("f1", "exposure", a, p, "video", _at(start, 1), 1000),
        _funnel("f2", "click", a, p, "video", _at(start, 1), 50),
        _funnel("f3", "add_to_cart", a, p, "video", _at(start, 1), 10),
        _funnel("f4", "exposure", a, p, "live", _at(start, 2), 500),
        _funnel("f5", "click", a, p, "live", _at(start, 2), 40, task_id=task_id),
        _funnel("f6", "add_to_cart", a, p, "live", _at(start, 2), 5),
        _funnel("f7", "exposure", b, p, "video", _at(start, 1), 2000),
        _funnel("f8", "click", b, p, "video", _at(start, 1), 20),
        _funnel("f9", "add_to_cart", b, p, "video", _at(start, 1), 4),
        _funnel("x1", "exposure", a, p, "video", _at(start, -1), 999),
        _funnel("x2", "exposure", a, w.listed_product, "video", _at(start, 1), 777),
        _funnel("x3", "exposure", w.unlisted_creator, p, "video", _at(start, 1), 555),
        _funnel("x4", "click", a, p, "video", _at(start, 1), 33, task_id="task-someone-else"),
        _promotion("fp-a", "fpr-a", a, p, plan_id, "live", _at(start, -2)),
        _promotion("fp-b", "fpr-b", b, p, plan_id, "video", _at(start, 1)),
        _order("fo-1", "fpr-a", 100.0, _at(start, 3)),
        _order("fo-2", "fpr-a", 50.0, _at(start, 3)),
        _order("fo-3", "fpr-a", 80.0, _at(start, 3), refunded=_at(start, 4)),
        _order("fo-4", "fpr-a", 70.0, _at(start, -1)),
        _order("fo-5", "fpr-b", 200.0, _at(start, 3)),
    ]
    res = client.post("/v1/events", json={"events": events}, headers=admin)
    assert res.status_code == 200, res.text
    assert res.json()["quarantined"] == 0, res.json()
    return {"task_id": task_id, "events": events}


def _figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in ("exposure", "clicks", "add_to_cart", "orders", "gmv", "commission", "fee_cost"))


A_ROW = (1500, 90, 15, 2, "150.00", "30.00", "300.00")
B_ROW = (2000, 20, 4, 1, "200.00", "40.00", "0.00")


def test_report_equals_the_hand_worked_example(client, env, report_task) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/tasks/{report_task['task_id']}/report", headers=key(w, "merchant"))
    assert res.status_code == 200, res.text
    report = res.json()
    assert report["scope"] == "task" and report["currency"] == "CNY"
    rows = {r["creator_id"]: r for r in report["by_creator"]}
    assert _figures(rows[w.creator]) == A_ROW and _figures(rows[w.other_creator]) == B_ROW
    assert (rows[w.creator]["click_rate"], rows[w.creator]["conversion"], rows[w.creator]["roi"]) == pytest.approx(
        (0.06, 0.022222, 0.454545), abs=1e-6
    )
    assert (rows[w.other_creator]["conversion"], rows[w.other_creator]["roi"]) == pytest.approx((0.05, 5.0))
    formats = {r["content_format"]: r for r in report["by_format"]}
    assert _figures(formats["video"]) == (3000, 70, 14, 1, "200.00", "40.00", "200.00")
    assert _figures(formats["live"]) == (500, 40, 5, 2, "150.00", "30.00", "100.00")
    assert (formats["video"]["roi"], formats["live"]["roi"]) == pytest.approx((0.833333, 1.153846), abs=1e-6)
    assert list(formats) == ["video", "live"]
    total = report["total"]
    assert _figures(total) == (3500, 110, 19, 3, "350.00", "70.00", "300.00")
    assert (total["click_rate"], total["conversion"], total["roi"]) == pytest.approx(
        (0.031429, 0.027273, 0.945946), abs=1e-6
    )


def test_an_accepted_creator_sees_only_its_own_row(client, env, report_task) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/tasks/{report_task['task_id']}/report", headers=key(w, "other_creator"))
    assert res.status_code == 200, res.text
    report = res.json()
    assert report["scope"] == "creator"
    assert [r["creator_id"] for r in report["by_creator"]] == [w.other_creator]
    assert _figures(report["total"]) == B_ROW
    assert [(r["content_format"], r["exposure"]) for r in report["by_format"]] == [("video", 2000)]


@pytest.mark.parametrize(
    ("who", "status"), [("other_merchant", 403), ("unlisted_creator", 403), ("listed_merchant", 403)]
)
def test_others_may_not_see_the_report(client, env, report_task, who: str, status: int) -> None:  # type: ignore[no-untyped-def]
    res = client.get(f"/v1/tasks/{report_task['task_id']}/report", headers=key(env.world, who))
    assert res.status_code == status and res.json()["error"]["code"] == "forbidden"


def test_unknown_task_is_404_and_a_missing_key_401(client, env, report_task) -> None:  # type: ignore[no-untyped-def]
    res = client.get("/v1/tasks/task-nope/report", headers=key(env.world, "admin"))
    assert res.status_code == 404 and res.json()["error"]["code"] == "unknown_task"
    assert client.get(f"/v1/tasks/{report_task['task_id']}/report").status_code == 401
    bad = client.get(
        f"/v1/tasks/{report_task['task_id']}/report", params={"format": "xlsx"}, headers=key(env.world, "admin")
    )
    assert bad.status_code == 422 and "format" in str(bad.json()["error"]["details"])


def test_csv_and_parquet_exports_carry_the_same_rows(client, env, report_task) -> None:  # type: ignore[no-untyped-def]
    url, headers = f"/v1/tasks/{report_task['task_id']}/report", key(env.world, "merchant")
    as_csv = client.get(url, params={"format": "csv"}, headers=headers)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    frame = pd.read_csv(io.StringIO(as_csv.text), dtype={"gmv": str, "commission": str, "fee_cost": str})
    assert list(frame["level"]) == ["creator", "creator", "format", "format", "total"]
    total = frame[frame["level"] == "total"].iloc[0]
    assert (int(total["exposure"]), total["gmv"], total["fee_cost"]) == (3500, "350.00", "300.00")
    as_parquet = client.get(url, params={"format": "parquet"}, headers=headers)
    assert as_parquet.status_code == 200
    parquet = pd.read_parquet(io.BytesIO(as_parquet.content))
    assert parquet["exposure"].tolist() == frame["exposure"].tolist()
    assert parquet["gmv"].tolist() == frame["gmv"].tolist()


def test_funnel_events_are_idempotent_and_bad_ones_quarantined(client, env, report_task) -> None:  # type: ignore[no-untyped-def]
    w, admin = env.world, key(env.world, "admin")
    again = client.post("/v1/events", json={"events": report_task["events"][:3]}, headers=admin).json()
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    when = "2026-07-01T12:00:00Z"
    bad = [
        _funnel("bad-1", "click", w.creator, w.product, "video", when, 0),
        _funnel("bad-2", "exposure", w.creator, w.product, "reel", when, 1),
        _funnel("bad-3", "exposure", "c-nobody", w.product, "video", when, 1),
        _funnel("bad-4", "add_to_cart", w.creator, w.product, "live", "yesterday", 1),
        {"event_id": "bad-5", "kind": "exposure", "data": {"creator_id": w.creator, "views": 3}},
    ]
    res = client.post("/v1/events", json={"events": bad}, headers=admin)
    assert res.status_code == 200, res.text
    reasons = [r["reason"].split(":")[0] for r in res.json()["results"]]
    assert res.json()["quarantined"] == 5 and reasons == [
        "count",
        "content_format",
        "creator_id",
        "occurred_at",
        "data",
    ]
    resent = client.post("/v1/events", json={"events": bad}, headers=admin).json()
    assert resent["quarantined"] == 5 and resent["duplicates"] == 0  # quarantined ids are never applied
    report = client.get(f"/v1/tasks/{report_task['task_id']}/report", headers=key(w, "merchant")).json()
    assert report["total"]["exposure"] == 3500  # nothing above changed the report


def test_the_demo_seeding_adds_each_pairs_figures_once(client, env, report_task) -> None:  # type: ignore[no-untyped-def]
    """Last in this module: it adds figures to the task. Two accepted creators x one product x two formats x
    three kinds = 12 funnel events; three orders per pair = 6; seeding again writes nothing."""
    from recsys.core.store import Store
    from serving.demo_funnel import seed_demo_funnel

    url, headers = f"/v1/tasks/{report_task['task_id']}/report", key(env.world, "merchant")
    before = client.get(url, headers=headers).json()["total"]
    store = Store(env.settings.resolved_database_url)
    try:
        first = seed_demo_funnel(env.settings, store, [report_task["task_id"], "task-unknown"])
        again = seed_demo_funnel(env.settings, store, [report_task["task_id"]])
    finally:
        store.dispose()
    assert first == {"funnel_events": 12, "orders": 6} and again == {"funnel_events": 0, "orders": 0}
    after = client.get(url, headers=headers).json()
    assert after["total"]["orders"] == before["orders"] + 6
    assert after["total"]["exposure"] > before["exposure"] and after["total"]["clicks"] > before["clicks"]
    assert [r["content_format"] for r in after["by_format"]] == ["video", "live"]
