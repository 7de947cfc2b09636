"""Who sees and does what on a task: every task endpoint x {no key, the task's merchant, another merchant, the
accepted creator, another creator, admin}. Only the task's merchant, its accepted creators (their own) and the admin
see deliverables and submissions; another merchant gets 403; a creator the task is not open to gets 404."""

from __future__ import annotations

from typing import Any

import pytest

from recsys.core.store import Store
from recsys.core.vocab import Role
from serving.auth import Principal
from serving.task_store import may_view_task_figures, task_scope
from tests.serving.conftest import key
from tests.serving.test_tasks import task_body

ROLES = ("none", "merchant", "other_merchant", "creator", "other_creator", "admin")


def _headers(env, role: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {} if role == "none" else key(env.world, role)


@pytest.fixture(scope="module")
def task(client, env) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A task the world's creator applied to and was accepted on, with one draft submitted."""
    w = env.world
    res = client.post("/v1/tasks", json=task_body(w.product), headers=key(w, "merchant"))
    assert res.status_code == 201, res.text
    task_id = res.json()["task_id"]
    assert client.post(f"/v1/tasks/{task_id}/applications", json={}, headers=key(w, "creator")).status_code == 201
    res = client.post(f"/v1/tasks/{task_id}/participants/{w.creator}/accept", headers=key(w, "merchant"))
    assert res.status_code == 200, res.text
    dlv = client.get(f"/v1/tasks/{task_id}/deliverables", headers=key(w, "creator")).json()["items"][0]
    body = {"deliverable_id": dlv["deliverable_id"], "text": "【广告】面霜很好用"}
    sub = client.post(f"/v1/tasks/{task_id}/submissions", json=body, headers=key(w, "creator"))
    assert sub.status_code == 201, sub.text
    return {"task_id": task_id, "deliverable_id": dlv["deliverable_id"], "submission_id": sub.json()["submission_id"]}


def _reads(env, t: dict[str, Any]) -> list[tuple[str, dict[str, int]]]:  # type: ignore[no-untyped-def]
    w, tid = env.world, t["task_id"]
    figures = {"none": 401, "merchant": 200, "other_merchant": 403, "creator": 200, "other_creator": 403, "admin": 200}
    merchant_only = {**figures, "creator": 403}
    return [
        (f"/v1/tasks/{tid}", {**figures, "other_creator": 200}),  # open to it: the public task
        (f"/v1/tasks/{tid}/deliverables", figures),
        (f"/v1/tasks/{tid}/submissions", figures),
        (f"/v1/tasks/{tid}/creators", merchant_only),
        (f"/v1/merchants/{w.merchant}/tasks", merchant_only),
        (f"/v1/creators/{w.creator}/tasks", {**figures, "merchant": 403, "other_merchant": 403}),
    ]


def test_read_matrix(client, env, task) -> None:  # type: ignore[no-untyped-def]
    for path, expected in _reads(env, task):
        for role in ROLES:
            res = client.get(path, headers=_headers(env, role))
            assert res.status_code == expected[role], (path, role, res.text)
            if res.status_code >= 400:
                assert set(res.json()["error"]) == {"code", "message", "details"}


def test_an_accepted_creator_sees_only_its_own_and_another_creator_the_public_task(client, env, task) -> None:  # type: ignore[no-untyped-def]
    w, tid = env.world, task["task_id"]
    public = client.get(f"/v1/tasks/{tid}", headers=key(w, "other_creator")).json()
    assert public["creators"] == [] and public["brief"] and public["fee_per_deliverable"] == "300.00"
    mine = client.get(f"/v1/tasks/{tid}/submissions", headers=key(w, "creator")).json()["items"]
    assert {s["creator_id"] for s in mine} == {w.creator}
    everyone = client.get(f"/v1/tasks/{tid}", headers=key(w, "merchant")).json()["creators"]
    assert [c["creator_id"] for c in everyone] == [w.creator]


def test_writes_by_the_wrong_party_are_refused(client, env, task) -> None:  # type: ignore[no-untyped-def]
    w, tid = env.world, task["task_id"]
    sub, dlv = task["submission_id"], task["deliverable_id"]
    review = f"/v1/tasks/{tid}/submissions/{sub}/review"
    cases: list[tuple[str, dict[str, Any], str, int]] = [
        ("/v1/tasks", task_body(w.product), "creator", 403),
        ("/v1/tasks", task_body(w.product, merchant_id=w.merchant), "other_merchant", 403),
        ("/v1/tasks", task_body(w.product), "none", 401),
        (f"/v1/tasks/{tid}/invitations", {"creator_ids": [w.other_creator]}, "other_merchant", 403),
        (f"/v1/tasks/{tid}/invitations", {"creator_ids": [w.other_creator]}, "creator", 403),
        (review, {"decision": "approve"}, "other_merchant", 403),
        (review, {"decision": "approve"}, "creator", 403),
        (review, {"decision": "approve"}, "other_creator", 403),
        (f"/v1/tasks/{tid}/submissions", {"deliverable_id": dlv, "text": "x"}, "other_creator", 403),
        (f"/v1/tasks/{tid}/submissions", {"deliverable_id": dlv, "text": "x"}, "merchant", 403),
        (f"/v1/tasks/{tid}/submissions", {"deliverable_id": dlv, "text": "x"}, "other_merchant", 403),
        (f"/v1/tasks/{tid}/deliverables/{dlv}/transitions", {"to_state": "to_submit"}, "other_merchant", 403),
        (f"/v1/tasks/{tid}/deliverables/{dlv}/transitions", {"to_state": "to_submit"}, "creator", 403),
        (f"/v1/tasks/{tid}/participants/{w.creator}/decline", {}, "other_creator", 403),
        (f"/v1/tasks/{tid}/participants/{w.creator}/decline", {}, "other_merchant", 403),
        (f"/v1/tasks/{tid}/applications", {"creator_id": w.creator}, "other_creator", 403),
        (f"/v1/tasks/{tid}/applications", {}, "merchant", 403),
    ]
    for path, body, role, status in cases:
        res = client.post(path, json=body, headers=_headers(env, role))
        assert res.status_code == status, (path, role, res.text)
    state = client.get(f"/v1/tasks/{tid}/deliverables", headers=key(w, "admin")).json()["items"][0]["state"]
    assert state == "in_review"  # nothing above moved it


def test_a_task_aimed_elsewhere_reads_as_unknown_to_other_creators(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    aimed = task_body(w.product, target_profile={"followers_min": 10**10})  # nobody has that many followers
    tid = client.post("/v1/tasks", json=aimed, headers=key(w, "merchant")).json()["task_id"]
    hidden = client.get(f"/v1/tasks/{tid}", headers=key(w, "other_creator"))
    unknown = client.get("/v1/tasks/task-nope", headers=key(w, "other_creator"))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["error"]["code"] == unknown.json()["error"]["code"] == "unknown_task"
    assert client.post(f"/v1/tasks/{tid}/applications", json={}, headers=key(w, "other_creator")).status_code == 404
    listed = client.get(f"/v1/creators/{w.other_creator}/tasks", headers=key(w, "other_creator")).json()["items"]
    assert tid not in {t["task_id"] for t in listed}
    assert client.get(f"/v1/tasks/{tid}", headers=key(w, "admin")).status_code == 200


def test_task_scope_and_figures_access(env, task) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    store = Store(env.settings.resolved_database_url)
    try:
        with store.engine.connect() as conn:
            scope = task_scope(conn, task["task_id"])
            assert task_scope(conn, "task-nope") is None
    finally:
        store.dispose()
    assert scope is not None
    assert (scope.merchant_id, scope.product_ids, scope.creator_ids) == (w.merchant, (w.product,), (w.creator,))
    assert scope.starts_at.tzinfo is not None and dict(scope.fee_by_creator) == {}
    allowed = {
        "admin": Principal(Role.ADMIN, None, "k1"),
        "merchant": Principal(Role.MERCHANT, w.merchant, "k2"),
        "creator": Principal(Role.CREATOR, w.creator, "k3"),
    }
    refused = {
        "other_merchant": Principal(Role.MERCHANT, w.other_merchant, "k4"),
        "other_creator": Principal(Role.CREATOR, w.other_creator, "k5"),
    }
    assert all(may_view_task_figures(p, scope) for p in allowed.values())
    assert not any(may_view_task_figures(p, scope) for p in refused.values())
