"""The optional sample_requests file and the store's sample requests in ``Marketplace.sample_requests``: imported
with validation and quarantine, read back by ``load_marketplace`` (those the sample workflow writes too), exported."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from recsys.core.config import Settings
from recsys.core.datasets.importer import export_dataset, import_dataset, read_dataset
from recsys.core.datasets.io import write_table
from recsys.core.schema import SAMPLE_REQUEST_COLUMNS
from recsys.core.store import Store
from recsys.core.synth import SynthConfig, Synthetic, generate, write_synthetic


@pytest.fixture(scope="module")
def synthetic() -> Synthetic:
    return generate(SynthConfig(creators=30, products=80, promotions=600, seed=6))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'recsys.db'}")


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.from_settings(settings)
    yield store
    store.dispose()


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[list(SAMPLE_REQUEST_COLUMNS)].sort_values("request_id", ignore_index=True)


def test_a_generated_directory_imports_its_samples_once(
    synthetic: Synthetic, store: Store, settings: Settings, tmp_path: Path
) -> None:
    write_synthetic(synthetic, tmp_path / "ds")
    first = import_dataset(store, tmp_path / "ds", settings, progress=False)
    samples = first.tables["sample_requests"]
    assert samples.inserted == len(synthetic.market.sample_requests) > 0 and samples.quarantined == 0
    loaded = store.load_marketplace().sample_requests
    pd.testing.assert_frame_equal(_sorted(loaded), _sorted(synthetic.market.sample_requests), check_dtype=False)
    again = import_dataset(store, tmp_path / "ds", settings, progress=False)
    assert again.revision is None and again.tables["sample_requests"].unchanged == len(loaded)
    export_dataset(store, tmp_path / "out")
    market, result = read_dataset(tmp_path / "out", settings)
    assert result.n_quarantined == 0
    pd.testing.assert_frame_equal(_sorted(market.sample_requests), _sorted(loaded), check_dtype=False)


def test_bad_sample_rows_are_quarantined_with_their_reason(
    synthetic: Synthetic, store: Store, settings: Settings, tmp_path: Path
) -> None:
    write_synthetic(synthetic, tmp_path / "ds", "csv")
    good = synthetic.market.sample_requests.iloc[:3].copy()
    bad = good.copy()
    bad["request_id"] = ["x1", "x2", "x3"]
    bad.loc[0, "creator_id"] = "nobody"
    bad.loc[1, "shipped_at"] = bad.loc[1, "requested_at"] - timedelta(days=1)
    bad.loc[2, "shipped_at"] = pd.NaT
    write_table(pd.concat([good, bad], ignore_index=True), tmp_path / "ds", "sample_requests", "csv")
    report = import_dataset(store, tmp_path / "ds", settings, progress=False)
    assert report.tables["sample_requests"].inserted == 3 and report.tables["sample_requests"].quarantined == 3
    reasons = pd.read_csv(report.quarantine_files["sample_requests"])["reason"].tolist()
    assert "creator_id: references unknown creator 'nobody'" in reasons[0]
    assert "shipped_at:" in reasons[1] and "is before requested_at" in reasons[1]
    assert reasons[2] == "shipped_at: required when content is given"
    assert sorted(store.load_marketplace().sample_requests["request_id"]) == sorted(good["request_id"])


def test_a_request_written_through_the_workflow_reaches_the_marketplace(
    synthetic: Synthetic, store: Store, settings: Settings, tmp_path: Path
) -> None:
    from recsys.core.workflows import SampleAction
    from serving.sample_store import apply_action, create_request

    write_synthetic(synthetic, tmp_path / "ds")
    (tmp_path / "ds" / "sample_requests.parquet").unlink()  # the store starts without sample requests
    import_dataset(store, tmp_path / "ds", settings, progress=False)
    assert len(store.load_marketplace().sample_requests) == 0
    promotion = synthetic.market.promotions.iloc[0]
    product = synthetic.market.products.set_index("product_id").loc[promotion["product_id"]]
    started = promotion["started_at"].to_pydatetime()
    record = create_request(
        store, promotion["product_id"], product["merchant_id"], promotion["creator_id"], None, started - timedelta(5)
    )
    rid = record["request_id"]
    apply_action(store, rid, SampleAction.APPROVE, started - timedelta(4))
    apply_action(store, rid, SampleAction.SHIP, started - timedelta(3))
    apply_action(store, rid, SampleAction.CONTENT, started + timedelta(1), promotion_id=promotion["promotion_id"])
    row = store.load_marketplace().sample_requests.set_index("request_id").loc[rid]
    assert (row["creator_id"], row["product_id"]) == (promotion["creator_id"], promotion["product_id"])
    assert row["shipped_at"] == started - timedelta(3) and row["content_started_at"] == started
    assert (
        row["content_recorded_at"] == started + timedelta(1)
        and row["content_promotion_id"] == promotion["promotion_id"]
    )
