"""A creator's GMV trend through HTTP: daily sums checked by hand against the store, who may read it, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from tests.serving.conftest import key

pytestmark = pytest.mark.backends("sqlite", "postgresql")


@pytest.fixture(scope="module")
def store(env):  # type: ignore[no-untyped-def]
    from recsys.core.store import Store

    store = Store.from_settings(env.settings)
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def mine(env, store) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The world creator's promotions, as stored."""
    promotions = store.read_table("promotions", extras=False)
    rows = promotions[promotions["creator_id"] == env.world.creator]
    assert len(rows) >= 2, "the fixture creator needs promotions"
    return rows


@pytest.fixture(scope="module")
def as_of(mine: pd.DataFrame) -> datetime:
    """The service's clock in these tests: the end of the day of the creator's last promotion."""
    last: datetime = pd.Timestamp(mine["started_at"].max()).to_pydatetime()
    return last.replace(hour=23, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module", autouse=True)
def clock(app, as_of: datetime) -> Iterator[None]:  # type: ignore[no-untyped-def]
    from serving.deps import get_clock

    app.dependency_overrides[get_clock] = lambda: lambda: as_of
    yield
    app.dependency_overrides.pop(get_clock, None)


def _trend(client, env, who: str = "merchant", creator: str | None = None, **params: Any):  # type: ignore[no-untyped-def]
    return client.get(
        f"/v1/creators/{creator or env.world.creator}/gmv-trend", params=params, headers=key(env.world, who)
    )


def _by_day(rows: pd.DataFrame, first: datetime, last: datetime) -> dict[str, tuple[float, int, int]]:
    """Hand-made expectation: the store's rows grouped by UTC start day in pandas."""
    started = pd.to_datetime(rows["started_at"])
    window = rows[(started >= first) & (started < last + timedelta(days=1))]
    grouped = window.groupby(pd.to_datetime(window["started_at"]).dt.strftime("%Y-%m-%d"))
    return {d: (round(float(g["gmv"].sum()), 2), int(g["orders"].sum()), len(g)) for d, g in grouped}


def test_daily_sums_match_the_store(client, env, mine, as_of) -> None:  # type: ignore[no-untyped-def]
    res = _trend(client, env, days=90)
    assert res.status_code == 200, res.text
    body = res.json()
    first = as_of.replace(hour=0) - timedelta(days=89)
    assert (body["creator_id"], body["days"], body["attribution"]) == (env.world.creator, 90, "started_at")
    assert body["start"] == first.date().isoformat() and body["end"] == as_of.date().isoformat()
    points = body["points"]
    assert len(points) == 90 and [p["date"] for p in points] == sorted(p["date"] for p in points)
    expected = _by_day(mine, first, as_of.replace(hour=0))
    assert expected, "the window holds some of the creator's promotions"
    got = {p["date"]: (p["gmv"], p["orders"], p["promotions"]) for p in points if p["promotions"]}
    assert got.keys() == expected.keys()
    for day, (gmv, orders, count) in expected.items():
        assert got[day][0] == pytest.approx(gmv, abs=0.011) and got[day][1:] == (orders, count)
    assert body["total_promotions"] == sum(c for _, _, c in expected.values())
    assert body["total_orders"] == sum(o for _, o, _ in expected.values())
    assert body["total_gmv"] == pytest.approx(sum(g for g, _, _ in expected.values()), abs=0.05)
    quiet = [p for p in points if not p["promotions"]]
    assert all(p["gmv"] == 0 and p["orders"] == 0 for p in quiet)


def test_default_is_90_days_and_the_window_is_bounded(client, env) -> None:  # type: ignore[no-untyped-def]
    assert len(_trend(client, env).json()["points"]) == 90
    assert len(_trend(client, env, days=7).json()["points"]) == 7
    for bad in (0, 6, 366, "ninety"):
        res = _trend(client, env, days=bad)
        assert res.status_code == 422, res.text
        error = res.json()["error"]
        assert error["code"] == "invalid_request" and error["details"][0]["loc"] == ["query", "days"]


def test_who_may_read_it(client, env) -> None:  # type: ignore[no-untyped-def]
    for who in ("admin", "merchant", "other_merchant", "creator"):
        assert _trend(client, env, who=who, days=7).status_code == 200, who
    res = _trend(client, env, who="other_creator", days=7)
    assert res.status_code == 403 and res.json()["error"]["code"] == "forbidden"
    assert client.get(f"/v1/creators/{env.world.creator}/gmv-trend").status_code == 401
    missing = _trend(client, env, who="admin", creator="no-such-creator")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "unknown_creator",
        "message": "unknown creator 'no-such-creator'",
        "details": [],
    }


def test_a_promotion_accepted_as_an_event_counts_at_once(client, env, mine, as_of) -> None:  # type: ignore[no-untyped-def]
    row = mine.iloc[0].to_dict()
    day = (as_of - timedelta(days=3)).replace(hour=12)
    data = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items() if k != "revision"}
    data.update(
        promotion_id="trend-ev-1", started_at=day.isoformat(), gmv=1234.5, orders=7, clicks=max(7, data["clicks"])
    )
    before = {p["date"]: p for p in _trend(client, env, days=7).json()["points"]}[day.date().isoformat()]
    event = {"event_id": "trend-e1", "kind": "promotion", "data": data}
    res = client.post("/v1/events", json={"events": [event]}, headers=key(env.world, "admin"))
    assert res.status_code == 200 and res.json()["accepted"] == 1, res.text
    after = {p["date"]: p for p in _trend(client, env, days=7).json()["points"]}[day.date().isoformat()]
    assert after["promotions"] == before["promotions"] + 1 and after["orders"] == before["orders"] + 7
    assert after["gmv"] == pytest.approx(before["gmv"] + 1234.5, abs=0.011)
