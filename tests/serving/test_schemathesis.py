"""Property-based run over the OpenAPI schema (every operation, admin key): no 5xx, no schema violations.

Bounded for CI (~1.5 min): the schema's own examples (which name real fixture ids) plus 30 generated valid and
invalid cases per operation (60 operations), then a stateful phase of 25 scenarios (sequences of calls chained by
the links schemathesis infers: a created plan read, patched, listed ...), the same cases every run. Runs
in-process through schemathesis' ASGI transport. ``python -m bench.fuzz`` runs the same tests heavier and with new
random cases (``RECSYS_FUZZ_EXAMPLES``, ``RECSYS_FUZZ_STATEFUL``, ``RECSYS_FUZZ_RANDOM``).
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.serving.conftest import key

GENERATED_PER_OPERATION = int(os.environ.get("RECSYS_FUZZ_EXAMPLES", "30"))
STATEFUL_SCENARIOS = int(os.environ.get("RECSYS_FUZZ_STATEFUL", "25"))
FIXED = os.environ.get("RECSYS_FUZZ_RANDOM") != "1"  # CI replays the same cases; bench.fuzz draws new ones
# Not a schema violation: a schema-valid value can still name an unknown category, a foreign cursor or an invalid
# plan, which the API rightly answers with 422 and field details. Every other check (5xx, status codes, content
# types, response schemas and headers, auth) stays on.
EXCLUDED = [positive_data_acceptance]
QUIET = list(HealthCheck)


def check_operations(env, shard: int, shards: int) -> int:  # type: ignore[no-untyped-def]
    """Fuzz every ``shards``-th operation from ``shard`` (the suite splits them over files, so parallel test
    workers share the work); returns how many operations the schema has."""
    from schemathesis.python.asgi import shutdown_lifespans

    from serving.app import create_app

    app = create_app(env.settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = key(env.world, "admin")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    try:
        for operation in operations[shard::shards]:
            examples = operation.get_strategies_from_examples()
            generated = [operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
            strategy = st.one_of([*examples, *generated])
            n = GENERATED_PER_OPERATION + 2 * len(examples)

            @given(case=strategy)
            @settings(max_examples=n, deadline=None, derandomize=FIXED, database=None, suppress_health_check=QUIET)
            def check(case) -> None:  # type: ignore[no-untyped-def]
                response = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
                assert response.status_code < 500

            try:
                check()
            except Exception as exc:  # collect every operation's failure, then report them together
                failures[operation.label] = str(exc)[:2000]
    finally:
        shutdown_lifespans()
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    return len(operations)


def test_the_api_honours_its_schema(env) -> None:  # type: ignore[no-untyped-def]
    """Every other operation from the first (tests/serving/test_schemathesis_more.py fuzzes the rest)."""
    count = check_operations(env, shard=0, shards=2)
    # 14 + onboarding (3) + invitations (5) + sample requests (5) + statements and withdrawals (4) + alerts (1)
    # + lookalikes (2) + what-if (1) + experiments (4) + console reads (me, audience, sample lists x2, bundle: 5)
    # + a creator's GMV trend (1) + tasks, applications, deliverables and submissions (14) + a task's funnel report (1)
    assert count == 60


def test_call_sequences_never_fail(env) -> None:  # type: ignore[no-untyped-def]
    """The stateful phase: calls chained by inferred links (a created plan read, patched, listed ...)."""
    from schemathesis.python.asgi import shutdown_lifespans

    from serving.app import create_app

    if STATEFUL_SCENARIOS <= 0:
        return
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(env.settings))
    headers = key(env.world, "admin")

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, excluded_checks=EXCLUDED, transport_kwargs=kwargs or None)
            assert response.status_code < 500

    try:
        Sequences.run(
            settings=settings(
                max_examples=STATEFUL_SCENARIOS,
                stateful_step_count=6,
                deadline=None,
                derandomize=FIXED,
                database=None,
                suppress_health_check=QUIET,
            )
        )
    finally:
        shutdown_lifespans()
