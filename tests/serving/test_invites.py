"""Invitations through HTTP: a merchant invites three creators from its recommended list; one accepts, one
declines; nobody else ever sees the targeted rate; the accepted pair leaves the lists and takes a capacity slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recsys.core.keys import create_key
from recsys.core.store import Store, now_utc
from tests.serving.conftest import key

pytestmark = pytest.mark.backends("sqlite", "postgresql")

RATE = 0.31


@pytest.fixture(scope="module")
def invited(client, env) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Three creators from the product's recommended list (not the world's other creators), with keys, invited."""
    w = env.world
    listed = client.get(f"/v1/products/{w.product}/creators", params={"k": 30}, headers=key(w, "merchant")).json()
    skip = {w.creator, w.other_creator, w.listed_creator, w.unlisted_creator}
    items = [i for i in listed["items"] if i["creator_id"] not in skip][:3]
    assert len(items) == 3, listed
    store = Store(env.settings.resolved_database_url)
    try:
        keys = {i["creator_id"]: {"X-API-Key": create_key(store, "creator", i["creator_id"])[1]} for i in items}
    finally:
        store.dispose()
    expires = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = {"creator_ids": list(keys), "commission_rate": RATE, "expires_at": expires}
    res = client.post(f"/v1/products/{w.product}/invites", json=body, headers=key(w, "merchant"))
    assert res.status_code == 201, res.text
    answer = res.json()
    return {"items": {i["creator_id"]: i for i in items}, "keys": keys, "invites": answer["items"]}


def _score(client, who: dict[str, str], creator: str, product: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    res = client.post("/v1/score", json={"pairs": [{"creator_id": creator, "product_id": product}]}, headers=who)
    assert res.status_code == 200, res.text
    return res.json()["items"][0]


def test_invitations_list_the_creators_on_one_targeted_plan(client, env, invited) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    invites = invited["invites"]
    assert [i["creator_id"] for i in invites] == list(invited["keys"])
    assert {i["status"] for i in invites} == {"pending"} and {i["commission_rate"] for i in invites} == {RATE}
    plan_ids = {i["plan_id"] for i in invites}
    assert len(plan_ids) == 1
    plan = client.get(f"/v1/plans/{plan_ids.pop()}", headers=key(w, "merchant")).json()
    assert plan["plan_type"] == "targeted" and set(plan["creator_ids"]) == set(invited["keys"])
    for creator, headers in invited["keys"].items():  # each invited creator sees its own invitation and rate
        mine = client.get(f"/v1/creators/{creator}/invites", headers=headers).json()["items"]
        assert [(i["product_id"], i["commission_rate"]) for i in mine] == [(w.product, RATE)]
        pair = _score(client, headers, creator, w.product)
        assert (pair["plan_type"], pair["commission_rate"]) == ("targeted", RATE)
    merchant_view = client.get(f"/v1/products/{w.product}/invites", headers=key(w, "merchant")).json()["items"]
    assert {i["invite_id"] for i in merchant_view} >= {i["invite_id"] for i in invites}


def test_nobody_else_sees_the_invitation_or_its_rate(client, env, invited) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    invite = invited["invites"][0]
    other = key(w, "other_creator")
    pair = _score(client, other, w.other_creator, w.product)
    assert pair["plan_type"] != "targeted" and pair["commission_rate"] != RATE
    assert client.get(f"/v1/plans/{invite['plan_id']}", headers=other).status_code == 404
    assert client.get(f"/v1/creators/{invite['creator_id']}/invites", headers=other).status_code == 403
    assert client.get(f"/v1/creators/{w.other_creator}/invites", headers=other).json()["items"] == []
    for action in ("accept", "decline"):  # someone else's invitation reads exactly like an unknown one
        res = client.post(f"/v1/invites/{invite['invite_id']}/{action}", headers=other)
        unknown = client.post(f"/v1/invites/inv-unknown/{action}", headers=other)
        assert res.status_code == unknown.status_code == 404
        assert res.json()["error"]["code"] == unknown.json()["error"]["code"] == "unknown_invite"
    pool = client.get(f"/v1/creators/{w.other_creator}/products", params={"k": 200}, headers=other).json()
    assert all(i["commission_rate"] != RATE or i["plan_type"] != "targeted" for i in pool["items"])
    res = client.get(f"/v1/products/{w.product}/invites", headers=key(w, "other_merchant"))
    assert res.status_code == 403
    assert client.get(f"/v1/products/{w.product}/invites", headers=other).status_code == 403


def test_accepting_starts_a_collaboration_once(client, env, invited) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    invite = invited["invites"][0]
    creator, headers = invite["creator_id"], invited["keys"][invite["creator_id"]]
    capacity_before = invited["items"][creator]["creator_capacity_left"]
    assert capacity_before is not None  # the fixture marketplace states weekly capacities
    assert client.post(f"/v1/invites/{invite['invite_id']}/accept", headers=key(w, "merchant")).status_code == 403
    first = client.post(f"/v1/invites/{invite['invite_id']}/accept", headers=headers)
    again = client.post(f"/v1/invites/{invite['invite_id']}/accept", headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["status"] == "accepted" and first.json()["collaboration_id"]
    assert again.json()["accepted_at"] == first.json()["accepted_at"]  # idempotent: one collaboration
    store = Store(env.settings.resolved_database_url)
    try:
        from recsys.core.schema import COLLABORATIONS

        with store.engine.connect() as conn:
            rows = conn.execute(COLLABORATIONS.select().where(COLLABORATIONS.c.creator_id == creator)).all()
    finally:
        store.dispose()
    assert len(rows) == 1
    url = f"/v1/products/{w.product}/creators"
    default = client.get(url, params={"k": 200}, headers=key(w, "merchant")).json()["items"]
    assert creator not in {i["creator_id"] for i in default}  # no longer a new partner
    both = client.get(url, params={"k": 200, "include_existing": True}, headers=key(w, "merchant")).json()["items"]
    mine = [i for i in both if i["creator_id"] == creator]
    assert mine and mine[0]["existing"]
    assert mine[0]["creator_capacity_left"] == max(capacity_before - 1, 0)  # one slot of this period taken
    declined = client.post(f"/v1/invites/{invite['invite_id']}/decline", headers=headers)
    assert declined.status_code == 409 and declined.json()["error"]["code"] == "invite_already_accepted"


def test_declining_takes_the_creator_off_the_plan(client, env, invited) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    invite = invited["invites"][1]
    creator, headers = invite["creator_id"], invited["keys"][invite["creator_id"]]
    res = client.post(f"/v1/invites/{invite['invite_id']}/decline", headers=headers)
    assert res.status_code == 200 and res.json()["status"] == "declined" and res.json()["declined_at"]
    assert client.post(f"/v1/invites/{invite['invite_id']}/decline", headers=headers).status_code == 200
    plan = client.get(f"/v1/plans/{invite['plan_id']}", headers=key(w, "merchant")).json()
    assert creator not in plan["creator_ids"] and plan["status"] == "active"
    assert client.get(f"/v1/plans/{invite['plan_id']}", headers=headers).status_code == 404
    pair = _score(client, headers, creator, w.product)
    assert pair["plan_type"] != "targeted"
    res = client.post(f"/v1/invites/{invite['invite_id']}/accept", headers=headers)
    assert res.status_code == 409 and res.json()["error"]["code"] == "invite_already_declined"


def test_reinviting_extends_a_pending_invitation(client, env, invited) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    invite = invited["invites"][2]
    later = (datetime.now(UTC) + timedelta(days=20)).isoformat()
    body = {"creator_ids": [invite["creator_id"]], "commission_rate": RATE, "expires_at": later}
    res = client.post(f"/v1/products/{w.product}/invites", json=body, headers=key(w, "merchant"))
    assert res.status_code == 201
    again = res.json()["items"][0]
    assert again["invite_id"] == invite["invite_id"] and again["expires_at"] > invite["expires_at"]
    other_rate = {**body, "commission_rate": RATE + 0.05}
    res = client.post(f"/v1/products/{w.product}/invites", json=other_rate, headers=key(w, "merchant"))
    assert res.status_code == 409 and res.json()["error"]["code"] == "invite_pending_other_rate"


def test_an_expired_invitation_cannot_be_accepted(client, app, env, invited) -> None:  # type: ignore[no-untyped-def]
    from serving.deps import get_clock

    invite = invited["invites"][2]
    app.dependency_overrides[get_clock] = lambda: lambda: now_utc() + timedelta(days=30)
    try:
        res = client.post(f"/v1/invites/{invite['invite_id']}/accept", headers=invited["keys"][invite["creator_id"]])
        listed = client.get(
            f"/v1/creators/{invite['creator_id']}/invites", headers=invited["keys"][invite["creator_id"]]
        )
    finally:
        app.dependency_overrides.pop(get_clock, None)
    assert res.status_code == 409 and res.json()["error"]["code"] == "invite_expired"
    assert listed.json()["items"][0]["status"] == "expired"


def test_a_full_targeted_plan_starts_another(client, env, invited) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    store = Store(env.settings.resolved_database_url)
    try:
        creators = store.read_table("creators", extras=False)["creator_id"].tolist()
    finally:
        store.dispose()
    plan_id = invited["invites"][0]["plan_id"]
    plan = client.get(f"/v1/plans/{plan_id}", headers=key(w, "merchant")).json()
    taken = {*plan["creator_ids"], *invited["keys"], w.creator, w.other_creator, w.listed_creator, w.unlisted_creator}
    fresh = [c for c in creators if c not in taken]
    room = 50 - len(plan["creator_ids"])
    expires = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = {"creator_ids": fresh[:room], "commission_rate": RATE, "expires_at": expires}
    res = client.post(f"/v1/products/{w.product}/invites", json=body, headers=key(w, "merchant"))
    assert res.status_code == 201 and {i["plan_id"] for i in res.json()["items"]} == {plan_id}
    body = {**body, "creator_ids": [fresh[room]]}
    res = client.post(f"/v1/products/{w.product}/invites", json=body, headers=key(w, "merchant"))
    assert res.status_code == 201 and res.json()["items"][0]["plan_id"] != plan_id
    assert len(client.get(f"/v1/plans/{plan_id}", headers=key(w, "merchant")).json()["creator_ids"]) == 50


@pytest.mark.parametrize(
    ("change", "status", "code", "reason"),
    [
        ({"commission_rate": 0.95}, 422, "plan_refused", "plan_commission_out_of_bounds"),
        ({"creator_ids": ["c-nobody"]}, 422, "invite_refused", "invite_creator_unknown"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, 422, "invite_refused", "invite_expiry_in_past"),
        ({"expires_at": "2099-01-01T00:00:00Z"}, 422, "invite_refused", "invite_expiry_too_far"),
        ({"creator_ids": []}, 422, "invalid_request", None),
        ({"creator_ids": [f"c{i}" for i in range(51)]}, 422, "invalid_request", None),
        ({"commission_rate": "high"}, 422, "invalid_request", None),
        ({"rate": 0.2}, 422, "invalid_request", None),
    ],
)
def test_bad_invitations_are_refused_with_the_reason(client, env, change, status, code, reason) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = {"creator_ids": [w.other_creator], "commission_rate": 0.2, **change}
    res = client.post(f"/v1/products/{w.product}/invites", json=body, headers=key(w, "merchant"))
    assert res.status_code == status, res.text
    error = res.json()["error"]
    assert error["code"] == code
    if reason is not None:
        assert reason in [d.get("code") for d in error["details"]]
    else:
        field = next(iter(change))
        assert any(d.get("loc", [None, None])[:2] == ["body", field] for d in error["details"]), error


def test_a_worker_started_later_counts_the_accepted_collaboration(env, invited) -> None:  # type: ignore[no-untyped-def]
    """A worker that starts (or reloads) after the acceptance reads it from the store like a promotion."""
    import numpy as np

    from serving.state import open_matcher_state

    accepted = invited["invites"][0]  # accepted by test_accepting_starts_a_collaboration_once
    store = Store(env.settings.resolved_database_url)
    try:
        state = open_matcher_state(env.settings, store)
    finally:
        store.dispose()
    tables = state.bundle.engine.tables
    c = np.array([tables.creators.row(accepted["creator_id"])])
    p = np.array([tables.products.row(accepted["product_id"])])
    assert state.matcher.market.state.existing(c, p)[0]


def test_an_unanswered_invitation_holds_a_slot_of_the_creators_capacity(client, env, invited) -> None:  # type: ignore[no-untyped-def]
    """Lists count pending invitations as taken room (matching.pending_invites): a creator invited to its limit is
    not sent more invitations than it can accept; answering frees the slot again."""
    w = env.world
    url = f"/v1/products/{w.product}/creators"

    def listed() -> dict[str, Any]:
        items = client.get(url, params={"k": 60}, headers=key(w, "merchant")).json()["items"]
        return {i["creator_id"]: i for i in items}

    store = Store(env.settings.resolved_database_url)
    try:
        from serving.invite_store import pending_invite_counts

        pending = pending_invite_counts(store, now_utc())  # other tests' invitations: a re-invite only extends
    finally:
        store.dispose()
    skip = {w.creator, w.other_creator, w.listed_creator, w.unlisted_creator, *invited["keys"], *pending}
    before = listed()
    creator = next(c for c, i in before.items() if c not in skip and (i["creator_capacity_left"] or 0) >= 1)
    assert before[creator]["creator_capacity_left"] is not None
    left = before[creator]["creator_capacity_left"]
    expires = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = {"creator_ids": [creator], "commission_rate": RATE, "expires_at": expires}
    res = client.post(f"/v1/products/{w.product}/invites", json=body, headers=key(w, "merchant"))
    assert res.status_code == 201, res.text
    assert listed()[creator]["creator_capacity_left"] == left - 1
    store = Store(env.settings.resolved_database_url)
    try:
        headers = {"X-API-Key": create_key(store, "creator", creator)[1]}
    finally:
        store.dispose()
    invite_id = res.json()["items"][0]["invite_id"]
    assert client.post(f"/v1/invites/{invite_id}/decline", headers=headers).status_code == 200
    assert listed()[creator]["creator_capacity_left"] == left
