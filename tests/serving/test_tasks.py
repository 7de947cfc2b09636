"""Tasks through HTTP, the issue's flow end to end: a merchant posts a task and gets recommended creators for it,
invites two (one accepts, one declines); a creator applies to another task and is accepted; a draft with 最便宜 and
no disclosure is flagged with both findings and their spans, a corrected one passes; the merchant approves, the
creator submits the link, the merchant passes QA — and only then does the fixed fee reach both statements. Every
invalid transition is a 409 naming the state; bad input is a 422 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recsys.core.keys import create_key
from recsys.core.store import Store
from tests.serving.conftest import key

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # acceptance counts against capacity: both stores

FEE = 300.0
FLAGGED = "这款面霜是全网最便宜的，赶紧下单！"
CORRECTED = "【广告】这款面霜质地轻薄，早晚都能用，推荐给干皮的朋友。"


def _due(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def task_body(product_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Serum launch",
        "product_ids": [product_id],
        "goal": "purchase",
        "deliverables": [{"format": "video", "quantity": 1}],
        "brief": "Show the cream in a morning routine.",
        "talking_points": ["light texture"],
        "required_terms": ["面霜"],
        "forbidden_terms": ["治愈"],
        "disclosure_required": True,
        "milestones": [{"name": "first_draft", "due": _due(5)}, {"name": "go_live", "due": _due(20)}],
        "fee_per_deliverable": FEE,
        "target_profile": {},
    }
    return {**body, **changes}


def creator_keys(env, creator_ids: list[str]) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    store = Store(env.settings.resolved_database_url)
    try:
        return {c: {"X-API-Key": create_key(store, "creator", c)[1]} for c in creator_ids}
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def flow(client, env) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Task A with two invited creators (the first accepts, the second declines) and task B the world's creator
    applied to and was accepted on."""
    w = env.world
    merchant = key(w, "merchant")
    res = client.post("/v1/tasks", json=task_body(w.product), headers=merchant)
    assert res.status_code == 201, res.text
    task_a = res.json()["task_id"]
    listed = client.get(f"/v1/tasks/{task_a}/creators", params={"k": 20}, headers=merchant)
    assert listed.status_code == 200, listed.text
    skip = {w.creator, w.other_creator, w.listed_creator, w.unlisted_creator}
    picked = [i["creator_id"] for i in listed.json()["items"] if i["creator_id"] not in skip][:2]
    assert len(picked) == 2, listed.json()
    keys = creator_keys(env, picked)
    res = client.post(f"/v1/tasks/{task_a}/invitations", json={"creator_ids": picked}, headers=merchant)
    assert res.status_code == 201, res.text
    invited = res.json()["items"]
    accepted, declined = picked
    res = client.post(f"/v1/tasks/{task_a}/participants/{accepted}/accept", headers=keys[accepted])
    assert res.status_code == 200, res.text
    res = client.post(
        f"/v1/tasks/{task_a}/participants/{declined}/decline", json={"note": "busy"}, headers=keys[declined]
    )
    assert res.status_code == 200, res.text
    res = client.post(
        "/v1/tasks", json=task_body(w.product, title="Second task", fee_per_deliverable=None), headers=merchant
    )
    assert res.status_code == 201, res.text
    task_b = res.json()["task_id"]
    fitting = client.get(f"/v1/creators/{w.creator}/tasks", headers=key(w, "creator")).json()["items"]
    applied = client.post(f"/v1/tasks/{task_b}/applications", json={"note": "I love it"}, headers=key(w, "creator"))
    answer = client.post(f"/v1/tasks/{task_b}/participants/{w.creator}/accept", headers=merchant)
    return {
        "task_a": task_a,
        "task_b": task_b,
        "listed": listed.json(),
        "invited": invited,
        "accepted": accepted,
        "declined": declined,
        "keys": keys,
        "fitting": fitting,
        "applied": applied,
        "answer": answer,
    }


def _deliverable(client, task_id: str, headers: dict[str, str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    res = client.get(f"/v1/tasks/{task_id}/deliverables", headers=headers)
    assert res.status_code == 200, res.text
    (item,) = res.json()["items"]
    return item  # type: ignore[no-any-return]


def test_the_merchant_invites_recommended_creators_and_one_accepts(client, env, flow) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    assert [i["status"] for i in flow["invited"]] == ["pending", "pending"]
    task = client.get(f"/v1/tasks/{flow['task_a']}", headers=key(w, "merchant")).json()
    assert {c["creator_id"]: c["status"] for c in task["creators"]} == {
        flow["accepted"]: "accepted",
        flow["declined"]: "declined",
    }
    assert task["fee_per_deliverable"] == "300.00" and task["ends_at"] is not None
    again = client.get(f"/v1/tasks/{flow['task_a']}/creators", params={"k": 20}, headers=key(w, "merchant")).json()
    assert not {flow["accepted"], flow["declined"]} & {i["creator_id"] for i in again["items"]}
    product_list = client.get(f"/v1/products/{w.product}/creators", params={"k": 30}, headers=key(w, "merchant"))
    assert flow["accepted"] not in {i["creator_id"] for i in product_list.json()["items"]}  # now an existing partner
    assert flow["declined"] in {i["creator_id"] for i in product_list.json()["items"]}
    deliverable = _deliverable(client, flow["task_a"], flow["keys"][flow["accepted"]])
    assert (deliverable["state"], deliverable["next_states"]) == ("to_create", ["in_review"])
    own = client.get(f"/v1/tasks/{flow['task_a']}", headers=flow["keys"][flow["declined"]]).json()
    assert [c["creator_id"] for c in own["creators"]] == [flow["declined"]]  # a creator sees its own entry only
    mine = client.get(f"/v1/merchants/{w.merchant}/tasks", headers=key(w, "merchant")).json()["items"]
    assert [t["task_id"] for t in mine] == [flow["task_b"], flow["task_a"]]


def test_a_creator_applies_to_another_task_and_is_accepted(client, env, flow) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    fitting = {t["task_id"]: t for t in flow["fitting"]}
    assert flow["task_b"] in fitting and fitting[flow["task_b"]]["pool_rank"] == 1  # w.product tops its pool
    assert flow["applied"].status_code == 201, flow["applied"].text
    assert (flow["applied"].json()["source"], flow["applied"].json()["status"]) == ("application", "pending")
    assert flow["answer"].status_code == 200 and flow["answer"].json()["status"] == "accepted"
    assert _deliverable(client, flow["task_b"], key(w, "creator"))["state"] == "to_create"
    again = client.post(f"/v1/tasks/{flow['task_b']}/applications", json={}, headers=key(w, "creator"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "task_creator_already_accepted"
    invited = client.post(f"/v1/tasks/{flow['task_a']}/applications", json={}, headers=flow["keys"][flow["accepted"]])
    assert invited.status_code == 409


def test_review_flow_flags_the_claim_and_the_fee_is_owed_only_after_qa(client, env, flow) -> None:  # type: ignore[no-untyped-def]
    w, task, creator = env.world, flow["task_a"], flow["accepted"]
    mine, merchant = flow["keys"][creator], key(w, "merchant")
    item = _deliverable(client, task, mine)
    dlv = item["deliverable_id"]
    res = client.post(f"/v1/tasks/{task}/submissions", json={"deliverable_id": dlv, "text": FLAGGED}, headers=mine)
    assert res.status_code == 201, res.text
    flagged = res.json()
    found = {f["category"]: f for f in flagged["findings"]}
    assert flagged["passed"] is False and flagged["deliverable_state"] == "in_review"
    claim = found["absolute_claim"]
    assert FLAGGED[claim["start"] : claim["end"]] == claim["excerpt"] == "最便宜"
    assert (found["missing_disclosure"]["start"], found["missing_disclosure"]["end"]) == (0, 0)
    assert flagged["rules_version"]
    review = f"/v1/tasks/{task}/submissions/{flagged['submission_id']}/review"
    no_reason = client.post(review, json={"decision": "request_changes"}, headers=merchant)
    assert no_reason.status_code == 422
    res = client.post(
        review, json={"decision": "request_changes", "reasons": ["remove 最便宜", "add 广告"]}, headers=merchant
    )
    assert res.status_code == 200 and res.json()["deliverable_state"] == "changes_requested", res.text
    assert client.post(review, json={"decision": "approve"}, headers=merchant).status_code == 409  # decided already
    res = client.post(f"/v1/tasks/{task}/submissions", json={"deliverable_id": dlv, "text": CORRECTED}, headers=mine)
    corrected = res.json()
    assert res.status_code == 201 and corrected["findings"] == [] and corrected["passed"] is True, res.text
    res = client.post(
        f"/v1/tasks/{task}/submissions/{corrected['submission_id']}/review",
        json={"decision": "approve"},
        headers=merchant,
    )
    assert res.status_code == 200 and res.json()["deliverable_state"] == "to_submit", res.text
    no_link = client.post(
        f"/v1/tasks/{task}/submissions", json={"deliverable_id": dlv, "text": CORRECTED}, headers=mine
    )
    assert no_link.status_code == 422 and no_link.json()["error"]["details"][0]["loc"] == ["body", "content_link"]
    final = {"deliverable_id": dlv, "text": CORRECTED, "content_link": "https://v.example.com/abc"}
    res = client.post(f"/v1/tasks/{task}/submissions", json=final, headers=mine)
    assert res.status_code == 201 and res.json()["deliverable_state"] == "done", res.text
    assert client.get(f"/v1/creators/{creator}/statement", headers=mine).json()["fees"] is None  # done, not QA'd
    assert client.get(f"/v1/merchants/{w.merchant}/statement", headers=merchant).json()["fees"] is None
    qa = f"/v1/tasks/{task}/deliverables/{dlv}/transitions"
    assert client.post(qa, json={"to_state": "passed_qa"}, headers=mine).status_code == 403  # the merchant's step
    res = client.post(qa, json={"to_state": "passed_qa"}, headers=merchant)
    assert res.status_code == 200 and res.json()["state"] == "passed_qa", res.text
    history = [(h["from_state"], h["to_state"]) for h in res.json()["history"]]
    assert history == [
        (None, "to_create"),
        ("to_create", "in_review"),
        ("in_review", "changes_requested"),
        ("changes_requested", "in_review"),
        ("in_review", "to_submit"),
        ("to_submit", "done"),
        ("done", "passed_qa"),
    ]
    fees = client.get(f"/v1/creators/{creator}/statement", headers=mine).json()["fees"]
    assert fees["owed_total"] == fees["owed_in_period"] == "300.00"
    assert fees["lines"] == [{"task_id": task, "creator_id": creator, "deliverables_passed_qa": 1, "owed": "300.00"}]
    owed = client.get(f"/v1/merchants/{w.merchant}/statement", headers=merchant).json()["fees"]
    assert owed["owed_total"] == "300.00" and [line["creator_id"] for line in owed["lines"]] == [creator]


def test_every_invalid_transition_is_a_409_naming_the_state(client, env, flow) -> None:  # type: ignore[no-untyped-def]
    w, task = env.world, flow["task_b"]
    dlv = _deliverable(client, task, key(w, "creator"))["deliverable_id"]
    url = f"/v1/tasks/{task}/deliverables/{dlv}/transitions"
    for target in ("to_create", "to_submit", "done", "passed_qa", "changes_requested"):
        res = client.post(url, json={"to_state": target, "reasons": ["x"]}, headers=key(w, "admin"))
        assert res.status_code == 409, (target, res.text)
        error = res.json()["error"]
        assert error["code"] == "deliverable_transition_not_allowed"
        assert error["details"][0]["state"] == "to_create" and error["details"][0]["allowed_next_states"] == [
            "in_review"
        ]
    res = client.post(url, json={"to_state": "in_review"}, headers=key(w, "merchant"))
    assert res.status_code == 403  # allowed from to_create, but the creator's step
    res = client.post(url, json={"to_state": "in_review"}, headers=key(w, "creator"))
    assert res.status_code == 422 and res.json()["error"]["code"] == "submission_required"  # it takes the text


def test_bad_task_input_is_a_422_naming_the_field(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    merchant = key(w, "merchant")
    store = Store(env.settings.resolved_database_url)
    try:
        products = store.read_table("products")
    finally:
        store.dispose()
    foreign = str(products.loc[products["merchant_id"] != w.merchant, "product_id"].iloc[0])
    late, early = {"name": "go_live", "due": _due(3)}, {"name": "first_draft", "due": _due(9)}
    cases = [
        ({"product_ids": [foreign]}, ["body", "product_ids", "0"]),
        ({"product_ids": [w.product, "p-no-such"]}, ["body", "product_ids", "1"]),
        ({"milestones": [late, early]}, ["body", "milestones", "1"]),
        ({"fee_per_deliverable": -1}, ["body", "fee_per_deliverable"]),
        ({"goal": "fame"}, ["body", "goal"]),
        ({"target_profile": {"followers_min": 10, "followers_max": 5}}, ["body", "target_profile", "followers_min"]),
        ({"target_profile": {"category": "no-such-category"}}, ["body", "target_profile", "category"]),
        ({"target_profile": {"fans": 3}}, ["body", "target_profile", "fans"]),
        ({"deliverables": [{"format": "podcast", "quantity": 1}]}, ["body", "deliverables", "0", "format"]),
    ]
    tid = client.post("/v1/tasks", json=task_body(w.product), headers=merchant).json()["task_id"]
    res = client.post(f"/v1/tasks/{tid}/applications", json={"creator_id": "c-nobody"}, headers=key(w, "admin"))
    assert res.status_code == 422 and res.json()["error"]["details"][0]["loc"] == ["body", "creator_id"]
    res = client.post(f"/v1/tasks/{tid}/invitations", json={"creator_ids": [w.creator, "c-nobody"]}, headers=merchant)
    assert res.status_code == 422 and res.json()["error"]["details"][0]["loc"] == ["body", "creator_ids", "1"]
    for change, loc in cases:
        res = client.post("/v1/tasks", json=task_body(w.product, **change), headers=merchant)
        assert res.status_code == 422, (change, res.text)
        assert [str(p) for p in res.json()["error"]["details"][0]["loc"]] == loc, (change, res.text)


def test_the_demo_seeds_two_tasks_with_every_state(client, env) -> None:  # type: ignore[no-untyped-def]
    from serving.demo_tasks import seed_demo_tasks

    w = env.world
    store = Store(env.settings.resolved_database_url)
    try:
        seeded = seed_demo_tasks(env.settings, store, w.merchant, w.creator)
    finally:
        store.dispose()
    assert seeded["tasks"] == 2, seeded
    states: set[str] = set()
    flagged = 0
    for task_id in seeded["task_ids"]:  # type: ignore[attr-defined]
        items = client.get(f"/v1/tasks/{task_id}/deliverables", headers=key(w, "merchant")).json()["items"]
        states |= {i["state"] for i in items}
        subs = client.get(f"/v1/tasks/{task_id}/submissions", headers=key(w, "merchant")).json()["items"]
        flagged += sum(not s["passed"] for s in subs)
    assert states == {"to_create", "in_review", "changes_requested", "to_submit", "done", "passed_qa"}
    assert flagged >= 2
    fees = client.get(f"/v1/creators/{w.creator}/statement", headers=key(w, "creator")).json()["fees"]
    assert fees is not None and any(line["owed"] == "150.00" for line in fees["lines"])
