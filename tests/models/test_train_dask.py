"""``recsys train --engine dask``: on a 2-worker local cluster, on the fixture marketplace, the Dask path reaches the
in-memory path's validation NDCG (within 0.01) and writes a bundle the service loads unchanged.

The feature tables are spilled to disk and mapped, as `recsys train --engine dask` does on a local cluster (the
in-memory broadcast a remote cluster uses without ``--spill-dir`` is the same computation without the files).
One Dask training per module (the slow part: a cluster of two worker processes, label sums on the workers,
LightGBM's distributed trees); the in-memory figures come from the session's fixture bundle (same data, settings
and seed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def dask_bundle(fixture_bundle, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    from distributed import Client, LocalCluster

    from models.bundle import save_bundle
    from models.training.dask_train import train_engine_dask
    from recsys.app.dask_training.source import from_market

    settings = fixture_bundle.settings.model_copy(update={"artifacts_dir": tmp_path_factory.mktemp("dask_artifacts")})
    source = from_market(fixture_bundle.market, buckets=4)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    spill = tmp_path_factory.mktemp("dask_spill")  # as `recsys train --engine dask` on a local cluster
    with cluster, Client(cluster) as client:
        engine, digest = train_engine_dask(client, source.entities, source.promotions, settings, seed=5, spill=spill)
    cutoffs = settings.ranker.train_windows + 2  # the training windows', the validation window's and now
    assert sorted(p.name for p in spill.iterdir()) == [f"cutoff-{k}" for k in range(cutoffs)]
    path = save_bundle(engine, settings.artifacts_dir, source.entities, 5, {}, compile_models=False, data_digest=digest)
    return path


def _metrics(path: Path) -> dict[str, object]:
    return dict(json.loads((path / "manifest.json").read_text())["metrics"])


@pytest.mark.slow
def test_validation_ndcg_is_within_a_hundredth_of_the_in_memory_path(fixture_bundle, dask_bundle) -> None:  # type: ignore[no-untyped-def]
    memory, dask = _metrics(fixture_bundle.path), _metrics(dask_bundle)
    assert dask["engine"] == "dask" and dask["dask_workers"] == 2
    assert dask["valid_window"] == memory["valid_window"]
    for direction in ("creator", "product"):
        assert dask[f"{direction}_valid_queries"] == memory[f"{direction}_valid_queries"]
        assert dask[f"{direction}_best_iteration"] == memory[f"{direction}_best_iteration"]  # trees from the sample run
        assert abs(float(dask[f"{direction}_ndcg@10"]) - float(memory[f"{direction}_ndcg@10"])) <= 0.01, direction  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_service_loads_the_dask_bundle_unchanged(fixture_bundle, dask_bundle) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from serving.state import load_serving_bundle

    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "manifest.json"}

    assert files(dask_bundle) == files(fixture_bundle.path)
    settings = fixture_bundle.settings.model_copy(update={"artifacts_dir": dask_bundle.parent})
    bundle = load_serving_bundle(settings)
    engine = bundle.engine
    X = engine.tables.vectors(np.arange(5), np.arange(5))
    for ranker in engine.rankers.values():
        assert np.isfinite(ranker.predict(X)).all()
    assert np.isfinite(engine.gmv.predict(X)).all()
    weights = engine.distribution.weight(X)
    assert ((weights >= 0) & (weights <= 1)).all()


def test_dask_options_need_the_dask_engine_and_a_real_export(tmp_path: Path) -> None:
    from recsys.app.cli import app

    runner = CliRunner()
    for option in ("--partitioned", "--spill-dir"):
        result = runner.invoke(app, ["train", option, str(tmp_path)])
        assert result.exit_code != 0 and "--engine dask" in result.output, option
    result = runner.invoke(app, ["train", "--engine", "dask", "--partitioned", str(tmp_path)])
    assert result.exit_code != 0 and "partitioned.json" in result.output


def test_blocks_keep_whole_queries() -> None:
    import numpy as np

    from models.training.dask_lgbm import query_blocks

    sizes = np.array([3, 5, 2, 7, 1, 4])
    blocks = query_blocks(sizes, rows=6)
    assert [b.start for b in blocks] == [0, *[b.stop for b in blocks[:-1]]] and blocks[-1].stop == len(sizes)
    assert all(sizes[b].sum() >= 6 for b in blocks[:-1])


def test_forced_bins_reproduce_lightgbm_own_bins() -> None:
    """Trees grown with the bins read back from LightGBM are the trees grown with LightGBM's own bins."""
    import json
    import tempfile

    import lightgbm as lgb
    import numpy as np

    from models.training.dask_lgbm import bin_bounds

    rng = np.random.default_rng(4)
    X = np.column_stack([rng.normal(size=3000), rng.integers(0, 5, 3000), rng.exponential(size=3000)])
    X[rng.random(3000) < 0.1, 0] = np.nan
    y = X[:, 1] + np.nan_to_num(X[:, 0]) + rng.normal(size=3000)
    names = ["a", "b", "c"]
    params = {"objective": "regression", "verbosity": -1, "deterministic": True, "num_threads": 1, "seed": 1}
    own = lgb.train(params, lgb.Dataset(X, y, feature_name=names), num_boost_round=20)

    def grown(bounds: list[dict[str, object]]) -> np.ndarray:
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(bounds, f)
            f.flush()
            booster = lgb.train({**params, "forcedbins_filename": f.name}, lgb.Dataset(X, y, feature_name=names), 20)
        return np.asarray(booster.predict(X))

    np.testing.assert_allclose(own.predict(X), grown(bin_bounds(X, names)))
    assert not np.allclose(own.predict(X), grown(bin_bounds(X * 1.5, names)))  # other bounds: other trees


@pytest.mark.slow
def test_the_dask_gmv_model_learns_from_new_collaborations_with_its_own_leaves(fixture_bundle, dask_bundle) -> None:  # type: ignore[no-untyped-def]
    """As in memory (tests/models/training/test_train.py): no split on a repeat collaboration's history, and at
    most ``ranker.gmv_num_leaves`` leaves per tree."""
    from serving.state import load_serving_bundle

    settings = fixture_bundle.settings.model_copy(update={"artifacts_dir": dask_bundle.parent})
    gmv = load_serving_bundle(settings).engine.gmv
    assert all(gmv.feature_importance()[f] == 0 for f in ("x_prev_promotions", "x_prev_gmv"))
    leaves = [t["num_leaves"] for t in gmv.booster_.dump_model()["tree_info"]]
    assert max(leaves) <= settings.ranker.gmv_num_leaves
