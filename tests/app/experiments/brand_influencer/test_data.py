"""Reading a brand-influencer directory: what loads, and the errors a user sees for broken files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.app.experiments.brand_influencer.data import (
    BrandDataError,
    directory_hash,
    load_candidates,
    load_directory,
)


def test_loads_rows_features_and_pairs(fake_dir: Path) -> None:
    data = load_directory(fake_dir)
    assert len(data.brands) == 30 and len(data.creators) == 240
    assert data.brands.image.shape == (30, 1365) and data.creators.hashtag.shape == (240, 128)
    assert data.pairs is not None and len(data.pairs) == 240
    first = data.pairs.iloc[0]
    assert data.brands.ids[first["brand_row"]] == "brand000"
    assert data.creators.ids[first["creator_row"]] == "creator0000"
    assert set(data.brands.category) == {"food", "makeup", "shoes"}


def test_scoring_directory_needs_no_pairs(fake_dir: Path) -> None:
    (fake_dir / "pairs.csv").unlink()
    assert load_directory(fake_dir, with_pairs=False).pairs is None
    with pytest.raises(BrandDataError, match=r"missing file .*pairs\.csv"):
        load_directory(fake_dir, with_pairs=True)


def test_missing_feature_file_is_named(fake_dir: Path) -> None:
    (fake_dir / "creator_hashtag_n2v128.npy").unlink()
    with pytest.raises(BrandDataError, match=r"missing file .*creator_hashtag_n2v128\.npy"):
        load_directory(fake_dir)


def test_misaligned_npy_rows_are_reported(fake_dir: Path) -> None:
    np.save(fake_dir / "creator_text_lda19.npy", np.ones((239, 19), dtype=np.float32))
    with pytest.raises(BrandDataError, match=r"creator_text_lda19\.npy has 239 rows but creators\.csv has 240"):
        load_directory(fake_dir)


def test_wrong_feature_width_is_reported(fake_dir: Path) -> None:
    np.save(fake_dir / "brand_image1365.npy", np.ones((30, 1000), dtype=np.float32))
    with pytest.raises(BrandDataError, match=r"brand_image1365\.npy: shape \(30, 1000\), expected \(30, 1365\)"):
        load_directory(fake_dir)


def test_non_finite_feature_names_row_and_column(fake_dir: Path) -> None:
    array = np.load(fake_dir / "brand_hashtag_n2v128.npy")
    array[7, 3] = np.nan
    np.save(fake_dir / "brand_hashtag_n2v128.npy", array)
    with pytest.raises(BrandDataError, match=r"brand_hashtag_n2v128\.npy row 7: column 3 is not finite"):
        load_directory(fake_dir)


def test_row_column_must_match_the_feature_order(fake_dir: Path) -> None:
    brands = pd.read_csv(fake_dir / "brands.csv")
    brands.loc[4, "row"] = 5
    brands.to_csv(fake_dir / "brands.csv", index=False)
    with pytest.raises(BrandDataError, match=r"brands\.csv row 4: field 'row' is '5', expected 4"):
        load_directory(fake_dir)


def test_duplicate_creator_and_unknown_pair_ids(fake_dir: Path) -> None:
    pairs = pd.read_csv(fake_dir / "pairs.csv")
    pairs.loc[12, "creator"] = "nobody"
    pairs.to_csv(fake_dir / "pairs.csv", index=False)
    with pytest.raises(BrandDataError, match=r"pairs\.csv row 12: creator 'nobody' is not in creators\.csv"):
        load_directory(fake_dir)
    creators = pd.read_csv(fake_dir / "creators.csv")
    creators.loc[3, "creator"] = creators.loc[2, "creator"]
    creators.to_csv(fake_dir / "creators.csv", index=False)
    with pytest.raises(BrandDataError, match=r"creators\.csv row 3: creator 'creator0002' appears more than once"):
        load_directory(fake_dir)


def test_candidates_keep_file_order_and_reject_unknown_ids(fake_dir: Path) -> None:
    data = load_directory(fake_dir)
    rows = pd.DataFrame(
        {"brand": ["brand002", "brand001", "brand002"], "creator": ["creator0005", "creator0100", "creator0007"]}
    )
    rows.to_csv(fake_dir / "candidates.csv", index=False)
    cands = load_candidates(fake_dir, data.brands, data.creators)
    assert cands["brand_row"].tolist() == [2, 1, 2] and cands["creator_row"].tolist() == [5, 100, 7]
    rows.loc[1, "brand"] = "ghost"
    rows.to_csv(fake_dir / "candidates.csv", index=False)
    with pytest.raises(BrandDataError, match=r"candidates\.csv row 1: brand 'ghost' is not in brands\.csv"):
        load_candidates(fake_dir, data.brands, data.creators)


def test_directory_hash_changes_with_content(fake_dir: Path) -> None:
    before = directory_hash(fake_dir)
    assert before == directory_hash(fake_dir)
    pairs = pd.read_csv(fake_dir / "pairs.csv").iloc[:-1]
    pairs.to_csv(fake_dir / "pairs.csv", index=False)
    assert directory_hash(fake_dir) != before
