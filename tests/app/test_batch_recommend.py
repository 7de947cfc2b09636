"""``recsys batch-recommend``: the Parquet lists equal the API's default lists, on both engines; a failed run leaves
nothing behind. Runs on the serving test bed (tests/serving/conftest.py) with its own copy of the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.serving.conftest import app, client, env, golden, key  # noqa: F401  (fixtures of the serving test bed)

ENDPOINTS = {"creators": "/v1/creators/{}/products", "products": "/v1/products/{}/creators"}
QUERY = {"creators": "creator_id", "products": "product_id"}
ITEM = {"creators": "product_id", "products": "creator_id"}
NUMBERS = ("commission_rate", "predicted_gmv", "predicted_gmv_low", "earnings", "score")
EARNINGS = {"creators": "expected_earnings", "products": "expected_commission"}


def _sample(fixture_bundle, side: str, n: int = 20) -> list[str]:  # type: ignore[no-untyped-def]
    """``n`` ids of the side's queries, seeded (admitted or not: a refused one must have no rows)."""
    frame = getattr(fixture_bundle.market, side)
    ids = frame[QUERY[side]].astype(str).to_numpy()
    return sorted(np.random.default_rng(18).choice(ids, size=n, replace=False).tolist())


def _run(bed, side: str, out: Path, **options: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from recsys.app.batch import BatchOptions, read_manifest, run_batch
    from serving.offline_state import open_scoring_inputs

    run_batch(bed.settings, BatchOptions(side=side, out=out, **options), open_scoring_inputs)
    return read_manifest(out)


def _api_rows(http, bed, side: str, query_id: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = http.get(ENDPOINTS[side].format(query_id), headers=key(bed.world, "admin"))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return [
        {
            "item": item[ITEM[side]],
            "rank": rank,
            "plan_id": item["plan_id"],
            "commission_rate": item["commission_rate"],
            "predicted_gmv": item["predicted_gmv"],
            "predicted_gmv_low": item["predicted_gmv_interval"]["low"],
            "earnings": item[EARNINGS[side]],
            "score": item["score"],
            "existing": item["existing"],
        }
        for rank, item in enumerate(items, start=1)
    ]


def _batch_rows(frame: pd.DataFrame, side: str, query_id: str) -> list[dict[str, Any]]:
    rows = frame[frame[QUERY[side]] == query_id].sort_values("rank")
    return [
        {
            "item": row[ITEM[side]],
            "rank": int(row["rank"]),
            "plan_id": row["plan_id"],
            "commission_rate": row["commission_rate"],
            "predicted_gmv": row["predicted_gmv"],
            "predicted_gmv_low": row["predicted_gmv_low"],
            "earnings": row[EARNINGS[side]],
            "score": row["score"],
            "existing": bool(row["existing"]),
        }
        for row in rows.to_dict("records")
    ]


def _assert_equals_api(http, bed, fixture_bundle, side: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    frame = pd.read_parquet(out)
    listed = 0
    for query_id in _sample(fixture_bundle, side):
        expected = _api_rows(http, bed, side, query_id)
        got = _batch_rows(frame, side, query_id)
        assert [(r["rank"], r["item"], r["plan_id"], r["existing"]) for r in got] == [
            (r["rank"], r["item"], r["plan_id"], r["existing"]) for r in expected
        ], f"{side[:-1]} {query_id}"
        for mine, theirs in zip(got, expected, strict=True):
            numbers = {name: theirs[name] for name in NUMBERS}
            assert {name: mine[name] for name in NUMBERS} == pytest.approx(numbers, rel=1e-9), f"{query_id} {mine}"
        listed += bool(expected)
    assert listed >= 10  # most sampled ids have a list: the comparison is not between empty lists


@pytest.mark.parametrize("side", ["creators", "products"])
def test_local_batch_equals_the_api_lists(side: str, env, client, fixture_bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    out = tmp_path / f"lists-{side}"
    manifest = _run(env, side, out, chunk=97)
    _assert_equals_api(client, env, fixture_bundle, side, out)
    frame = pd.read_parquet(out)
    assert manifest["rows"] == len(frame) > 0
    assert manifest["k"] == env.settings.serving.default_k
    assert manifest["engine"] == "local" and manifest["side"] == side
    assert frame.groupby(QUERY[side])["rank"].max().max() <= manifest["k"]
    assert manifest["partitions"] == len(list(out.glob("part-*.parquet"))) > 1


def test_dask_batch_equals_the_api_lists(env, client, fixture_bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Two Dask workers as threads of this process (processes=False: worker processes would each import the stack
    and build a matcher, seconds of start-up for a tiny marketplace)."""
    out = tmp_path / "dask-products"
    manifest = _run(env, "products", out, engine="dask", workers=2, processes=False)
    assert manifest["engine"] == "dask" and manifest["workers"] == 2 and manifest["partitions"] > 2
    _assert_equals_api(client, env, fixture_bundle, "products", out)
    assert manifest["rows"] == len(pd.read_parquet(out))


def test_without_a_bundle_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recsys.app.cli import app as cli

    monkeypatch.setenv("RECSYS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RECSYS_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    out = tmp_path / "exports" / "pools"
    result = CliRunner().invoke(cli, ["batch-recommend", "--side", "creators", "--out", str(out)])
    assert result.exit_code == 1
    assert "no trained bundle" in result.output and "nothing was written" in result.output
    assert not out.exists()


def _broken_opener(settings: object) -> object:
    raise RuntimeError("the store went away")


def test_a_run_failing_midway_leaves_no_output(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from recsys.app.batch import BatchOptions, run_batch

    out = tmp_path / "pools"
    with pytest.raises(RuntimeError, match="the store went away"):
        run_batch(env.settings, BatchOptions(side="creators", out=out), _broken_opener)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []  # neither the output nor its temporary folder
