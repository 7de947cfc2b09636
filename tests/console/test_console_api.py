"""The read endpoints the console needs, over HTTP: ``GET /v1/me``, a product's audience against its target,
sample-request lists, the served bundle, the ``/`` redirect, the static console and Swagger without a CDN."""

from __future__ import annotations

from tests.serving.conftest import key


def test_me_tells_each_key_its_role_and_tenant(client, env) -> None:  # type: ignore[no-untyped-def]
    world = env.world
    assert client.get("/v1/me", headers=key(world, "merchant")).json() | {"key_id": ""} == {
        "role": "merchant",
        "merchant_id": world.merchant,
        "creator_id": None,
        "key_id": "",
    }
    creator = client.get("/v1/me", headers=key(world, "creator")).json()
    assert (creator["role"], creator["creator_id"], creator["merchant_id"]) == ("creator", world.creator, None)
    assert client.get("/v1/me", headers=key(world, "admin")).json()["role"] == "admin"
    assert client.get("/v1/me").status_code == 401


def test_audience_compares_creators_with_the_target_for_the_owner_only(client, env) -> None:  # type: ignore[no-untyped-def]
    world = env.world
    path = f"/v1/products/{world.product}/audience?creator_id={world.creator},nobody"
    answer = client.get(path, headers=key(world, "merchant"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [c["creator_id"] for c in body["creators"]] == [world.creator]
    assert body["unknown_creator_ids"] == ["nobody"]
    audience = body["creators"][0]["audience"]
    for group in ("gender", "age", "city_tier"):
        assert abs(sum(audience[group].values()) - 1) < 0.02
    assert client.get(path, headers=key(world, "other_merchant")).status_code == 403
    assert client.get(path, headers=key(world, "creator")).status_code == 403
    missing = client.get(f"/v1/products/{world.product}/audience", headers=key(world, "merchant"))
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid_request"
    empty = client.get(f"/v1/products/{world.product}/audience?creator_id=,", headers=key(world, "merchant"))
    assert empty.status_code == 422 and empty.json()["error"]["details"][0]["loc"] == ["query", "creator_id"]
    unknown = client.get("/v1/products/nope/audience?creator_id=x", headers=key(world, "admin"))
    assert unknown.status_code == 404


def test_sample_request_lists_show_own_requests_only(client, env) -> None:  # type: ignore[no-untyped-def]
    world = env.world
    made = client.post(
        f"/v1/products/{world.product}/sample-requests", json={"note": "for a live"}, headers=key(world, "creator")
    )
    assert made.status_code == 201, made.text
    request_id = made.json()["request_id"]
    mine = client.get(f"/v1/creators/{world.creator}/sample-requests", headers=key(world, "creator")).json()
    assert request_id in [r["request_id"] for r in mine["items"]]
    shop = client.get(f"/v1/merchants/{world.merchant}/sample-requests", headers=key(world, "merchant")).json()
    assert request_id in [r["request_id"] for r in shop["items"]]
    assert (
        client.get(f"/v1/creators/{world.creator}/sample-requests", headers=key(world, "other_creator")).status_code
        == 403
    )
    assert (
        client.get(f"/v1/merchants/{world.merchant}/sample-requests", headers=key(world, "other_merchant")).status_code
        == 403
    )
    assert (
        client.get(f"/v1/merchants/{world.merchant}/sample-requests", headers=key(world, "creator")).status_code == 403
    )


def test_admin_sees_the_served_bundle(client, env) -> None:  # type: ignore[no-untyped-def]
    world = env.world
    bundle = client.get("/v1/admin/bundle", headers=key(world, "admin")).json()
    ready = client.get("/readyz").json()
    assert bundle["model_run_id"] == ready["model_run_id"]
    assert bundle["feature_count"] > 0 and bundle["created_at"]
    assert client.get("/v1/admin/bundle", headers=key(world, "merchant")).status_code == 403


def test_root_redirects_to_the_console_and_docs_use_local_assets(client) -> None:  # type: ignore[no-untyped-def]
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/console/"
    page = client.get("/console/")
    assert page.status_code == 200 and "/console/js/app.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    docs = client.get("/docs").text
    assert "/console/vendor/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/console/vendor/swagger-ui.css").status_code == 200
    unknown = client.get("/console/vendor/package.json")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


CONSOLE_OPERATIONS = {
    "GET /v1/me",
    "GET /v1/products/{product_id}/audience",
    "GET /v1/creators/{creator_id}/sample-requests",
    "GET /v1/merchants/{merchant_id}/sample-requests",
    "GET /v1/admin/bundle",
}


def test_the_console_endpoints_honour_their_schema(env) -> None:  # type: ignore[no-untyped-def]
    """Schemathesis over these endpoints only (admin key, examples + 30 valid and invalid cases each, replayed the
    same every run): no 5xx, answers match the schema."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.python.asgi import shutdown_lifespans
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    from serving.app import create_app

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(env.settings))
    operations = [r.ok() for r in schema.get_all_operations()]
    mine = [op for op in operations if op.label in CONSOLE_OPERATIONS]
    assert {op.label for op in mine} == CONSOLE_OPERATIONS
    headers = key(env.world, "admin")
    failures: dict[str, str] = {}
    try:
        for operation in mine:
            generated = [operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
            strategy = st.one_of([*operation.get_strategies_from_examples(), *generated])

            @given(case=strategy)
            @settings(
                max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
            )
            def check(case) -> None:  # type: ignore[no-untyped-def]
                response = case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
                assert response.status_code < 500

            try:
                check()
            except Exception as exc:
                failures[operation.label] = str(exc)[:2000]
    finally:
        shutdown_lifespans()
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
