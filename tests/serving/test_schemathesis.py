"""Property-based run over the OpenAPI schema (every operation, admin key): no 5xx, no schema violations.

Bounded for CI: the schema's own examples (which name real fixture ids) plus a few generated valid and invalid
cases per operation (mostly exercising the 404/422 paths). Runs in-process through schemathesis' ASGI transport.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.serving.conftest import key

GENERATED_PER_OPERATION = 8
# Not a schema violation: a schema-valid value can still name an unknown category, a foreign cursor or an invalid
# plan, which the API rightly answers with 422 and field details. Every other check (5xx, status codes, content
# types, response schemas and headers, auth) stays on.
EXCLUDED = [positive_data_acceptance]


def test_the_api_honours_its_schema(env) -> None:  # type: ignore[no-untyped-def]
    from schemathesis.python.asgi import shutdown_lifespans

    from serving.app import create_app

    app = create_app(env.settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = key(env.world, "admin")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 27  # 14 + onboarding (3) + invitations (5) + sample requests (5)
    try:
        for operation in operations:
            examples = operation.get_strategies_from_examples()
            generated = [operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
            strategy = st.one_of([*examples, *generated])
            n = GENERATED_PER_OPERATION + 2 * len(examples)

            @given(case=strategy)
            @settings(
                max_examples=n, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
            )
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
