"""The second half of the schema fuzzing (see tests/serving/test_schemathesis.py): its own file, so parallel test
workers (``make test`` runs one file per worker at a time) fuzz the two halves at once."""

from __future__ import annotations

from tests.serving.test_schemathesis import check_operations


def test_the_rest_of_the_api_honours_its_schema(env) -> None:  # type: ignore[no-untyped-def]
    """Every other operation from the second."""
    assert check_operations(env, shard=1, shards=2) > 1
