from __future__ import annotations

import numpy as np
import pytest

from models.ann import VectorIndex


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(3000, 16)).astype(np.float32)


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_index_finds_the_exact_neighbours(vectors: np.ndarray, kind: str) -> None:
    index = VectorIndex(kind=kind, nprobe=32).fit(vectors)  # type: ignore[arg-type]
    recall = index.recall_at_k(vectors[:50], 10)
    assert recall >= (1.0 if kind == "flat" else 0.85)


def test_auto_picks_exact_below_threshold(vectors: np.ndarray) -> None:
    assert VectorIndex(kind="auto", exact_threshold=10_000).fit(vectors).kind_ == "flat"
    assert VectorIndex(kind="auto", exact_threshold=1_000).fit(vectors).kind_ == "ivf"


@pytest.mark.parametrize("share", [0.9, 0.3, 0.01])
def test_filtered_search_returns_full_lists_of_allowed_rows_only(vectors: np.ndarray, share: float) -> None:
    rng = np.random.default_rng(1)
    allowed = rng.random(len(vectors)) < share
    index = VectorIndex(kind="ivf", nprobe=8).fit(vectors)
    k = 25
    for query in vectors[:20]:
        scores, rows = index.search_filtered(query, k, allowed)
        assert len(rows) == min(k, int(allowed.sum()))
        assert allowed[rows].all()
        assert np.all(np.diff(scores) <= 1e-6)  # best first


def test_save_load_roundtrip_gives_identical_results(tmp_path, vectors: np.ndarray) -> None:
    index = VectorIndex(kind="ivf").fit(vectors)
    index.save(tmp_path, "products")
    loaded = VectorIndex.load(tmp_path, "products")
    a = index.search(vectors[:5], 10)
    b = loaded.search(vectors[:5], 10)
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_allclose(a[0], b[0])


def test_load_refuses_vectors_that_do_not_match_the_index(tmp_path, vectors: np.ndarray) -> None:
    VectorIndex(kind="flat").fit(vectors).save(tmp_path, "x")
    np.save(tmp_path / "x.npy", vectors[:10])
    with pytest.raises(ValueError, match="does not match"):
        VectorIndex.load(tmp_path, "x")
