"""A/B experiments through HTTP: definitions, sticky hashed arms on every list, exposure counters, events that
name their arm, `recsys ab report` on seeded orders, stopping, and bad definitions."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from recsys.core.experiments import ExperimentSpec, assign_arm
from tests.serving.conftest import key

POOL = "/v1/creators/{}/products"
EXPERIMENTS = "/v1/admin/experiments"


@pytest.fixture(scope="module")
def store(env):  # type: ignore[no-untyped-def]
    from recsys.core.store import Store

    store = Store.from_settings(env.settings)
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def creators(store) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(store.read_table("creators")["creator_id"].astype(str))


def _admin(env) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return key(env.world, "admin")


def _start(client, env, name: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    res = client.put(f"{EXPERIMENTS}/{name}", json=body, headers=_admin(env))
    assert res.status_code == status, res.text
    return dict(res.json())


def _split(name: str, second: dict[str, Any]) -> dict[str, Any]:
    return {
        "arms": [{"name": "control", "weight": 0.5}, {"name": name, "weight": 0.5, **second}],
        "endpoints": ["creator_products"],
    }


def _load(client, env, creators: list[str], k: int) -> dict[str, tuple[str | None, int]]:  # type: ignore[no-untyped-def]
    """One pool request per creator: its arm (body and header agree) and the items shown."""
    return {c: (arm, len(items)) for c, (arm, items) in _lists(client, env, creators, k).items()}


def _lists(client, env, creators: list[str], k: int) -> dict[str, tuple[str | None, list[str]]]:  # type: ignore[no-untyped-def]
    """One pool request per creator: its arm (body and header agree) and the product ids shown."""
    seen = {}
    for creator in creators:
        res = client.get(POOL.format(creator), params={"k": k}, headers=_admin(env))
        assert res.status_code == 200, res.text
        body = res.json()
        assert res.headers.get("X-Recsys-Arm") == body["arm"]
        seen[creator] = (body["arm"], [item["product_id"] for item in body["items"]])
    return seen


def _report(env, monkeypatch, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from recsys.app.cli import app
    from recsys.core.config import get_settings

    monkeypatch.setenv("RECSYS_DATA_DIR", str(env.settings.data_dir))
    monkeypatch.setenv("RECSYS_ARTIFACTS_DIR", str(env.settings.artifacts_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["ab", "report", name, "--json"], catch_exceptions=False)
        table = CliRunner().invoke(app, ["ab", "report", name], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0 and table.exit_code == 0, result.output + table.output
    assert "difference with the first arm" in table.output
    return dict(json.loads(result.output))


def _orders(client, env, store, name: str, arm: str, count: int, tag: str, seed: int) -> None:  # type: ignore[no-untyped-def]
    """``count`` order events that followed ``arm``, on existing promotions, amounts 50–150 yuan."""
    promotions = store.read_table("promotions").head(count)
    rng = np.random.default_rng(seed)
    events = []
    for i, (pid, started) in enumerate(zip(promotions["promotion_id"], promotions["started_at"], strict=True)):
        order = {
            "order_id": f"ab-{tag}-{i}",
            "promotion_id": str(pid),
            "amount": round(float(rng.uniform(50, 150)), 2),
            "created_at": (started + timedelta(hours=1)).isoformat(),
            "confirmed_at": None,
            "refunded_at": None,
            "status": "placed",
        }
        events.append({"event_id": f"ab-{tag}-{i}", "kind": "order", "data": order, "experiment": name, "arm": arm})
    res = client.post("/v1/events", json={"events": events}, headers=_admin(env))
    assert res.status_code == 200, res.text
    assert res.json()["accepted"] == count, res.text[:500]


def _promote(client, env, store, creator: str, product: str) -> None:  # type: ignore[no-untyped-def]
    """A promotion event for (creator, product) on the product's first plan, started an hour ago."""
    from recsys.core.store import now_utc

    row = store.read_table("promotions").iloc[0].to_dict()
    plan = store.read_table("plans").query("product_id == @product").iloc[0]
    data = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
    started = (now_utc() - timedelta(hours=1)).isoformat()
    data.update(promotion_id=f"ab-pr-{creator}", creator_id=creator, product_id=product, started_at=started)
    data["plan_id"] = str(plan["plan_id"])
    event = {"event_id": f"ab-pr-{creator}", "kind": "promotion", "data": data}
    res = client.post("/v1/events", json={"events": [event]}, headers=_admin(env))
    assert res.status_code == 200 and res.json()["accepted"] == 1, res.text


def _gone_within(client, env, creator: str, product: str, polls: int = 100) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``product`` leaves ``creator``'s pool (a new collaboration), polled (bounded): the arm's state
    advances on the background check."""
    import time

    for _ in range(polls):
        body = client.get(POOL.format(creator), params={"k": 20}, headers=_admin(env)).json()
        if product not in [item["product_id"] for item in body["items"]]:
            return True
        time.sleep(0.1)
    return False


def test_arms_are_sticky_hashed_counted_and_gone_after_stop(client, env, store, creators) -> None:  # type: ignore[no-untyped-def]
    before = _load(client, env, creators[:20], 3)
    assert {arm for arm, _ in before.values()} == {None}  # no experiment: responses name no arm
    created = _start(client, env, "sticky", _split("blend", {"settings": {"rules.earnings_blend": 0.9}}))
    assert [a["name"] for a in created["arms"]] == ["control", "blend"] and created["status"] == "running"
    _start(client, env, "sticky", _split("blend", {"settings": {"rules.earnings_blend": 0.9}}), status=200)
    spec = ExperimentSpec.from_json({"name": "sticky", **_split("blend", {"settings": {"rules.earnings_blend": 0.9}})})
    lists = _lists(client, env, creators, 5)
    first = {c: (a, len(ids)) for c, (a, ids) in lists.items()}
    again = _load(client, env, creators[:100], 5)
    assert all(again[c][0] == first[c][0] for c in creators[:100])  # sticky
    assert all(first[c][0] == assign_arm(spec, c).name for c in creators)  # the hash decides, not the worker
    share = sum(a == "blend" for a, _ in first.values()) / len(creators)
    assert 0.42 <= share <= 0.58, share  # ~300 callers here; 2,000 callers: tests/core/test_ab_assignment.py
    body = client.get(f"{EXPERIMENTS}/sticky", headers=_admin(env)).json()
    for arm in body["arms"]:
        served = [n for run in (first, again) for a, n in run.values() if a == arm["name"]]
        assert (arm["requests"], arm["exposures"]) == (len(served), sum(served))
    metrics = client.get("/metrics").text
    assert 'recsys_experiment_exposures_total{arm="blend",experiment="sticky"}' in metrics
    assert client.get(EXPERIMENTS, headers=key(env.world, "merchant")).status_code == 403
    stopped = client.post(f"{EXPERIMENTS}/sticky/stop", headers=_admin(env))
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    after = _lists(client, env, creators[:150], 5)
    assert {arm for arm, _ in after.values()} == {None}
    control = [c for c in after if lists[c][0] == "control"]
    assert all(after[c][1] == lists[c][1] for c in control)  # the control arm is the live model
    blend = [c for c in after if lists[c][0] == "blend"]
    assert any(after[c][1] != lists[c][1] for c in blend)  # the blend arm really ranked with its setting
    assert "X-Recsys-Arm" not in client.get(POOL.format(creators[0]), headers=_admin(env)).headers


def test_report_shows_a_seeded_difference_and_no_difference_between_equal_arms(  # type: ignore[no-untyped-def]
    client, env, store, creators, monkeypatch
) -> None:
    _start(client, env, "seeded", _split("decay-off", {"settings": {"matching.exposure_decay": 0.0}}))
    shown = _load(client, env, creators[:120], 20)
    exposures = {arm: sum(n for a, n in shown.values() if a == arm) for arm in ("control", "decay-off")}
    _orders(client, env, store, "seeded", "control", round(0.02 * exposures["control"]), "s-c", 1)
    _orders(client, env, store, "seeded", "decay-off", round(0.06 * exposures["decay-off"]), "s-t", 2)
    assert client.post(f"{EXPERIMENTS}/seeded/stop", headers=_admin(env)).status_code == 200
    report = _report(env, monkeypatch, "seeded")
    assert [a["exposures"] for a in report["arms"]] == [exposures["control"], exposures["decay-off"]]
    diff = report["differences"][0]
    for metric in ("conversion", "gmv_per_exposure", "commission_per_exposure"):
        assert diff[metric]["low"] > 0, (metric, diff[metric])

    _start(client, env, "equal", _split("blend-same", {"settings": {"rules.earnings_blend": 0.3}}))
    shown = _load(client, env, creators[:120], 20)
    exposures = {arm: sum(n for a, n in shown.values() if a == arm) for arm in ("control", "blend-same")}
    _orders(client, env, store, "equal", "control", round(0.03 * exposures["control"]), "e-c", 3)
    _orders(client, env, store, "equal", "blend-same", round(0.03 * exposures["blend-same"]), "e-t", 4)
    diff = _report(env, monkeypatch, "equal")["differences"][0]
    for metric in ("conversion", "gmv_per_exposure", "commission_per_exposure"):
        assert diff[metric]["low"] < 0 < diff[metric]["high"], (metric, diff[metric])
    assert client.post(f"{EXPERIMENTS}/equal/stop", headers=_admin(env)).status_code == 200


def test_an_event_naming_an_unknown_arm_is_quarantined(client, env, store) -> None:  # type: ignore[no-untyped-def]
    promotion = store.read_table("promotions").iloc[0]
    order = {
        "order_id": "ab-unknown-arm",
        "promotion_id": str(promotion["promotion_id"]),
        "amount": 10.0,
        "created_at": (promotion["started_at"] + timedelta(hours=1)).isoformat(),
        "confirmed_at": None,
        "refunded_at": None,
        "status": "placed",
    }
    event = {"event_id": "ab-unknown-arm", "kind": "order", "data": order, "experiment": "seeded", "arm": "nope"}
    result = client.post("/v1/events", json={"events": [event]}, headers=_admin(env)).json()["results"][0]
    assert result["status"] == "quarantined" and result["reason"].startswith("arm:")


def test_a_bundle_arm_serves_and_bad_definitions_name_the_field(client, env, store, creators) -> None:  # type: ignore[no-untyped-def]
    run_id = client.get(POOL.format(creators[0]), headers=_admin(env)).json()["model_run_id"]
    _start(client, env, "bundle-arm", _split("same-bundle", {"bundle": run_id}))
    shown = _lists(client, env, creators[:30], 3)
    assert {a for a, _ in shown.values()} == {"control", "same-bundle"}
    creator = next(c for c, (a, ids) in shown.items() if a == "same-bundle" and ids)
    _promote(client, env, store, creator, shown[creator][1][0])  # the bundle arm follows store events too
    assert _gone_within(client, env, creator, shown[creator][1][0])
    conflict = client.put(f"{EXPERIMENTS}/other", json=_split("x", {}), headers=_admin(env))
    assert conflict.status_code == 409 and "bundle-arm" in conflict.json()["error"]["message"]
    assert client.post(f"{EXPERIMENTS}/bundle-arm/stop", headers=_admin(env)).status_code == 200

    bad = {
        "arms": [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.6}],
        "endpoints": ["creator_products"],
    }
    cases = [
        (bad, ["body", "arms"]),
        (_split("b", {"settings": {"matching.unknown": 1.0}}), ["body", "arms", 1, "settings", "matching.unknown"]),
        (_split("b", {"bundle": "no-such-run"}), ["body", "arms", 1, "bundle"]),
        ({**_split("b", {}), "endpoints": ["nowhere"]}, ["body", "endpoints", "0"]),
    ]
    for body, loc in cases:
        res = client.put(f"{EXPERIMENTS}/bad-one", json=body, headers=_admin(env))
        assert res.status_code == 422, res.text
        error = res.json()["error"]
        assert error["details"][0]["loc"] == loc and error["message"]
    assert client.get(f"{EXPERIMENTS}/bad-one", headers=_admin(env)).status_code == 404
    assert "X-Recsys-Arm" not in client.get(POOL.format(creators[0]), headers=_admin(env)).headers


def _arm_within(client, env, creator: str, want: str | None, polls: int = 100) -> str | None:  # type: ignore[no-untyped-def]
    """The arm ``creator`` gets, polled (bounded) until it is ``want``: another worker follows on its background
    check (the store counter), not at once."""
    import time

    arm = None
    for _ in range(polls):
        arm = client.get(POOL.format(creator), params={"k": 1}, headers=_admin(env)).json()["arm"]
        if arm == want:
            break
        time.sleep(0.1)
    return arm


def test_another_worker_follows_start_and_a_cli_stop(client, env, creators, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from recsys.app.cli import app as cli
    from recsys.core.config import get_settings
    from serving.app import create_app

    with TestClient(create_app(env.settings)) as other:  # a second worker on the same store and artifacts
        _start(client, env, "two-workers", _split("boost", {"settings": {"matching.new_creator_boost": 0.0}}))
        spec = ExperimentSpec.from_json({"name": "two-workers", **_split("boost", {})})
        creator = creators[7]
        want = assign_arm(spec, creator).name
        assert _arm_within(other, env, creator, want) == want
        monkeypatch.setenv("RECSYS_DATA_DIR", str(env.settings.data_dir))
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(cli, ["ab", "stop", "two-workers"], catch_exceptions=False)
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert _arm_within(other, env, creator, None) is None
        assert _arm_within(client, env, creator, None) is None


def test_the_experiment_operations_honour_their_schema(env) -> None:  # type: ignore[no-untyped-def]
    """Schemathesis over the experiment operations only (the whole API: tests/serving/test_schemathesis.py)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.python.asgi import shutdown_lifespans
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    from serving.app import create_app

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(env.settings))
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(EXPERIMENTS)]
    assert len(operations) == 4
    failures: dict[str, str] = {}
    try:
        for operation in operations:
            strategy = st.one_of(
                [operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
            )

            @given(case=strategy)
            @settings(
                max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
            )
            def check(case) -> None:  # type: ignore[no-untyped-def]
                response = case.call_and_validate(headers=_admin(env), excluded_checks=[positive_data_acceptance])
                assert response.status_code < 500

            try:
                check()
            except Exception as exc:
                failures[operation.label] = str(exc)[:2000]
    finally:
        shutdown_lifespans()
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
