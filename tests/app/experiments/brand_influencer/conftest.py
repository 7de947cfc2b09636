"""Tiny seeded brand-influencer directories in the layout of shared/data/brand_influencer/train.

Each brand has a latent topic mix, hashtag vector and category; its positive creators are noisy copies of the
brand's content, so content features carry real signal (positives should rank far above random).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CATEGORIES = ("food", "makeup", "shoes")


def write_fake_dir(
    path: Path,
    n_brands: int = 30,
    per_brand: int = 8,
    seed: int = 0,
    brand_prefix: str = "brand",
    creator_prefix: str = "creator",
) -> Path:
    """Write brands.csv, creators.csv, pairs.csv and the five .npy files; returns ``path``."""
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True, exist_ok=True)
    category = [CATEGORIES[i % len(CATEGORIES)] for i in range(n_brands)]
    cat_topic = rng.dirichlet(np.full(19, 0.3), size=len(CATEGORIES))
    cat_hash = rng.normal(size=(len(CATEGORIES), 128))
    b_lda = np.vstack([rng.dirichlet(20 * cat_topic[CATEGORIES.index(c)] + 0.2) for c in category])
    b_hash = np.vstack([cat_hash[CATEGORIES.index(c)] + rng.normal(size=128) for c in category]) * 0.05
    b_img = rng.random((n_brands, 1365))
    owner = np.repeat(np.arange(n_brands), per_brand)
    c_lda = np.vstack([rng.dirichlet(4 * b_lda[b] + 0.2) for b in owner])
    c_hash = b_hash[owner] + rng.normal(scale=0.12, size=(len(owner), 128))
    brands = [f"{brand_prefix}{i:03d}" for i in range(n_brands)]
    creators = [f"{creator_prefix}{i:04d}" for i in range(len(owner))]
    brand_frame = pd.DataFrame({"row": range(n_brands), "brand": brands, "category": category})
    brand_frame.to_csv(path / "brands.csv", index=False)
    pd.DataFrame({"row": range(len(owner)), "creator": creators}).to_csv(path / "creators.csv", index=False)
    rank = np.tile(np.arange(1, per_brand + 1), n_brands)
    pairs = pd.DataFrame(
        {
            "brand": [brands[b] for b in owner],
            "creator": creators,
            "competence_score": 1.0 / rank,
            "rank_in_brand": rank,
        }
    )
    pairs.to_csv(path / "pairs.csv", index=False)
    for name, array in {
        "brand_text_lda19": b_lda,
        "brand_hashtag_n2v128": b_hash,
        "brand_image1365": b_img,
        "creator_text_lda19": c_lda,
        "creator_hashtag_n2v128": c_hash,
    }.items():
        np.save(path / f"{name}.npy", array.astype(np.float32))
    return path


@pytest.fixture
def fake_dir(tmp_path: Path) -> Path:
    return write_fake_dir(tmp_path / "bi")


@pytest.fixture(scope="session")
def trained_split(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, pd.DataFrame]:
    """(artifacts, train_dir, test_dir, held-out pairs): a model trained once per session on fake data."""
    from recsys.app.experiments.brand_influencer import train_to_dir
    from recsys.app.experiments.brand_influencer.holdout import make_holdout

    root = tmp_path_factory.mktemp("brand_split")
    source = write_fake_dir(root / "all", n_brands=36, per_brand=8, seed=3)
    make_holdout(source, root / "split", n_test_brands=10, seed=0)
    train_to_dir(root / "split" / "train", root / "artifacts", seed=0)
    held = pd.read_csv(root / "split" / "test_labels.csv")
    return root / "artifacts", root / "split" / "train", root / "split" / "test", held
