"""``matching.full_creators`` through HTTP: once a creator's open invitations fill its room, a product's creator list
and the shop-level list stop naming it under "hide", and keep naming it (with no capacity left) under "keep";
"displace" is refused (the service does not know the expected earnings of open invitations).

A merchant invites one creator from its product's list; two workers over the same store then count each open
invitation as taking 100 slots (``matching.pending_invites``), so that one invitation fills the creator."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette suggests httpx2; the TestClient works the same on httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests.serving.conftest import key

FILLS_ANY_ROOM = 100.0


@pytest.fixture(scope="module")
def full_creator(client, env) -> str:  # type: ignore[no-untyped-def]
    """A creator with room from the product's list, invited by the merchant (the invitation stays open)."""
    w = env.world
    listed = client.get(f"/v1/products/{w.product}/creators", params={"k": 30}, headers=key(w, "merchant")).json()
    skip = {w.creator, w.other_creator, w.listed_creator, w.unlisted_creator}
    room = [i["creator_id"] for i in listed["items"] if (i["creator_capacity_left"] or 0) > 0]
    creator = next(c for c in room if c not in skip)
    expires = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = {"creator_ids": [creator], "commission_rate": 0.3, "expires_at": expires}
    res = client.post(f"/v1/products/{w.product}/invites", json=body, headers=key(w, "merchant"))
    assert res.status_code == 201, res.text
    return str(creator)


def _worker(env, full_creators: str) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    matching = env.settings.matching.model_copy(
        update={"full_creators": full_creators, "pending_invites": FILLS_ANY_ROOM}
    )
    with TestClient(create_app(env.settings.model_copy(update={"matching": matching}))) as worker:
        yield worker


@pytest.fixture(scope="module")
def hiding(env, full_creator) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    yield from _worker(env, "hide")


@pytest.fixture(scope="module")
def naming(env, full_creator) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    yield from _worker(env, "keep")


def _items(worker: TestClient, url: str, who: dict[str, str]) -> list[dict[str, Any]]:
    res = worker.get(url, params={"k": 200}, headers=who)
    assert res.status_code == 200, res.text
    return list(res.json()["items"])


def test_a_product_list_never_names_a_creator_with_no_room_when_on(hiding, env, full_creator) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    items = _items(hiding, f"/v1/products/{w.product}/creators", key(w, "merchant"))
    assert items and full_creator not in {i["creator_id"] for i in items}
    assert all(i["creator_capacity_left"] is None or i["creator_capacity_left"] > 0 for i in items)


def test_a_product_list_names_it_with_no_room_left_when_off(naming, env, full_creator) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    items = {i["creator_id"]: i for i in _items(naming, f"/v1/products/{w.product}/creators", key(w, "merchant"))}
    assert items[full_creator]["creator_capacity_left"] == 0


def test_the_shop_list_leaves_it_out_too(hiding, naming, env, full_creator) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    url = f"/v1/merchants/{w.merchant}/creators"
    shown = {i["creator_id"] for i in _items(hiding, url, key(w, "merchant"))}
    assert shown and full_creator not in shown
    assert full_creator in {i["creator_id"] for i in _items(naming, url, key(w, "merchant"))}


def test_pages_of_a_list_without_full_creators_continue_exactly(hiding, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    url, who = f"/v1/products/{w.product}/creators", key(w, "merchant")
    whole = [i["creator_id"] for i in hiding.get(url, params={"k": 20}, headers=who).json()["items"]]
    first = hiding.get(url, params={"k": 10}, headers=who).json()
    assert first.get("next_cursor"), first
    second = hiding.get(url, params={"k": 10, "cursor": first["next_cursor"]}, headers=who).json()
    assert [i["creator_id"] for i in first["items"] + second["items"]] == whole


def test_the_service_refuses_displace_with_the_reason(env) -> None:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    matching = env.settings.matching.model_copy(update={"full_creators": "displace"})
    with pytest.raises(ValueError, match="market simulation only"):
        create_app(env.settings.model_copy(update={"matching": matching}))
