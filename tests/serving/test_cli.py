"""``recsys keys create`` and ``recsys demo`` (a tiny demo: build, reuse, finish an interrupted build)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

TINY = {
    "RECSYS_DEMO__CREATORS": "80",
    "RECSYS_DEMO__PRODUCTS": "300",
    "RECSYS_DEMO__PROMOTIONS": "4000",
    "RECSYS_DEMO__SEED": "3",
    "RECSYS_RANKER__N_ESTIMATORS": "40",
    "RECSYS_RANKER__EARLY_STOPPING_ROUNDS": "10",
    "RECSYS_RANKER__NUM_THREADS": "2",
    "RECSYS_RETRIEVAL__DISTILL_QUERIES": "20",
    "RECSYS_RETRIEVAL__RECALL_QUERIES": "10",
    "RECSYS_RETRIEVAL__CANDIDATES": "100",
    "RECSYS_RETRIEVAL__RECALL_K": "50",
    "RECSYS_RETRIEVAL__CF_FACTORS": "8",
}


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Process settings pointing at ``tmp_path`` (the CLI reads settings from the environment)."""
    from recsys.core.config import get_settings

    monkeypatch.setenv("RECSYS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RECSYS_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    for name, value in TINY.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _run(*args: str):  # type: ignore[no-untyped-def]
    from recsys.app.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_keys_create_prints_the_key_last_and_checks_the_tenant(golden, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from recsys.core.config import get_settings
    from recsys.core.keys import find_key
    from recsys.core.store import Store
    from tests.serving.conftest import copy_env

    env = copy_env(golden, tmp_path)
    monkeypatch.setenv("RECSYS_DATA_DIR", str(env.settings.data_dir))
    get_settings.cache_clear()
    try:
        result = _run("keys", "create", "--merchant", env.world.merchant)
        assert result.exit_code == 0, result.output
        token = result.output.strip().splitlines()[-1]
        key = find_key(Store.from_settings(env.settings), token)
        assert key is not None and key.role == "merchant" and key.tenant_id == env.world.merchant
        admin = _run("keys", "create", "--admin")
        assert admin.exit_code == 0 and admin.output.strip().splitlines()[-1].startswith("rk_")
        unknown = _run("keys", "create", "--creator", "nobody")
        assert unknown.exit_code != 0 and "unknown creator 'nobody'" in unknown.output
        both = _run("keys", "create", "--admin", "--merchant", env.world.merchant)
        assert both.exit_code != 0 and "exactly one" in both.output
        listed = _run("keys", "list")
        assert listed.exit_code == 0 and key.key_id in listed.output and token not in listed.output
        assert _run("keys", "revoke", key.key_id).exit_code == 0
        assert find_key(Store.from_settings(env.settings), token) is None
    finally:
        get_settings.cache_clear()


def _bundles(cli_env: Path) -> list[str]:
    """The bundle folders (the service's hidden folders, such as .market and .serving, left out)."""
    return sorted(p.name for p in (cli_env / "artifacts").iterdir() if p.is_dir() and not p.name.startswith("."))


def test_the_demo_builds_once_then_reuses_and_finishes_an_interrupted_build(cli_env: Path) -> None:
    first = _run("demo", "--build-only")
    assert first.exit_code == 0, first.output
    keys = json.loads((cli_env / "data" / "demo_keys.json").read_text())
    assert "demo keys only" in keys["note"]
    for value in (keys["admin"], keys["merchant"], keys["creator"], "/docs", "curl -s -H 'X-API-Key:"):
        assert value in first.output
    assert f"/v1/creators/{keys['creator_id']}/products" in first.output
    bundles = _bundles(cli_env)
    assert len(bundles) == 1

    again = _run("demo", "--build-only")  # reuses store, bundle and keys
    assert again.exit_code == 0 and keys["creator"] in again.output
    assert _bundles(cli_env) == bundles

    (cli_env / "data" / "demo_keys.json").unlink()  # interrupted before the keys were written
    finished = _run("demo", "--build-only")
    assert finished.exit_code == 0
    new_keys = json.loads((cli_env / "data" / "demo_keys.json").read_text())
    assert new_keys["creator"] != keys["creator"]
    assert _bundles(cli_env) == bundles  # no retraining

    manifest = cli_env / "artifacts" / bundles[0] / "manifest.json"  # as an older version of the code trained it
    old = json.loads(manifest.read_text())
    manifest.chmod(0o644)
    manifest.write_text(json.dumps({**old, "feature_names": old["feature_names"][:-1]}))
    upgraded = _run("demo", "--build-only")
    assert upgraded.exit_code == 0, upgraded.output
    assert "cannot be served by this version" in upgraded.output and "training it again" in upgraded.output
    retrained = _bundles(cli_env)
    assert len(retrained) == 2 and bundles[0] in retrained  # a new bundle; the old one is left as it was
    assert new_keys["creator"] in upgraded.output  # same store, same keys

    (cli_env / "data" / "demo_state.json").unlink()  # the store now holds data the demo did not record
    foreign = _run("demo", "--build-only")
    assert foreign.exit_code != 0 and "--rebuild" in foreign.output
