"""The statement and withdrawal endpoints honour their OpenAPI schema under generated input: never a 5xx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.serving.conftest import key

PATHS = ("/statement", "/withdrawals")
# 422 for a schema-valid value the rules refuse is right; and a negative case "without X-API-Key" gets the key
# back here (every call sends one), so its acceptance is no violation. 5xx and response-schema checks stay on.
EXCLUDED = [positive_data_acceptance, negative_data_rejection]


def _checker(operation: Any, headers: dict[str, str], own_id: str | None) -> Callable[[], None]:
    """40 generated valid and invalid cases plus the schema's examples; ``own_id`` pins the creator path id."""
    strategy = st.one_of(
        [
            *operation.get_strategies_from_examples(),
            operation.as_strategy(),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        ]
    )

    @given(case=strategy)
    @settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def check(case) -> None:  # type: ignore[no-untyped-def]
        if own_id is not None and "creator_id" in (case.path_parameters or {}):
            case.path_parameters["creator_id"] = own_id
        response = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
        assert response.status_code < 500

    return check  # type: ignore[no-any-return]


def test_statements_and_withdrawals_honour_their_schema(env) -> None:  # type: ignore[no-untyped-def]
    from schemathesis.python.asgi import shutdown_lifespans

    from serving.app import create_app

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(env.settings))
    operations = [r.ok() for r in schema.get_all_operations() if r.ok().path.endswith(PATHS)]
    assert len(operations) == 4
    failures: dict[str, str] = {}
    try:
        for operation in operations:
            for who, own_id in (("admin", None), ("creator", env.world.creator)):
                try:
                    _checker(operation, key(env.world, who), own_id)()
                except Exception as exc:  # report every operation's failure together
                    failures[f"{operation.label} as {who}"] = str(exc)[:2000]
    finally:
        shutdown_lifespans()
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
