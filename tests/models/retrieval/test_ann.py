from __future__ import annotations

import numpy as np
import pytest

from models.retrieval.ann import VectorIndex
from tests.models.retrieval.brute_force import recall_against_brute_force


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(3000, 16)).astype(np.float32)


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_index_finds_the_exact_neighbours(vectors: np.ndarray, kind: str) -> None:
    index = VectorIndex(kind=kind, nprobe=32).fit(vectors)  # type: ignore[arg-type]
    recall = recall_against_brute_force(index, vectors[:50], vectors, None, 10)
    assert recall >= (1.0 if kind == "flat" else 0.85)


def test_the_recall_an_index_reports_is_the_recall_numpy_measures(vectors: np.ndarray) -> None:
    """The build falls back to exact search on ``recall_at_k``: it must be the real recall, not an optimistic one."""
    index = VectorIndex(kind="ivf", nprobe=2).fit(vectors)  # few lists probed: clearly approximate
    reported = index.recall_at_k(vectors[:50], 20)
    measured = recall_against_brute_force(index, vectors[:50], vectors, None, 20)
    assert measured < 0.95
    assert reported == pytest.approx(measured, abs=0.01)


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


@pytest.mark.parametrize("kind", ["flat", "ivf"])
@pytest.mark.parametrize("mmap", [False, True])
def test_save_load_roundtrip_gives_identical_results(tmp_path, vectors: np.ndarray, kind: str, mmap: bool) -> None:
    index = VectorIndex(kind=kind).fit(vectors)  # type: ignore[arg-type]
    index.save(tmp_path, "products")
    loaded = VectorIndex.load(tmp_path, "products", mmap=mmap)
    a = index.search(vectors[:5], 10)
    b = loaded.search(vectors[:5], 10)
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_allclose(a[0], b[0])
    allowed = np.arange(len(vectors)) % 7 == 0  # the exact subset path reads the (mapped) vectors
    np.testing.assert_array_equal(
        index.search_filtered(vectors[0], 10, allowed)[1], loaded.search_filtered(vectors[0], 10, allowed)[1]
    )


def test_load_refuses_vectors_that_do_not_match_the_index(tmp_path, vectors: np.ndarray) -> None:
    VectorIndex(kind="flat").fit(vectors).save(tmp_path, "x")
    np.save(tmp_path / "x.npy", vectors[:10])
    with pytest.raises(ValueError, match="does not match"):
        VectorIndex.load(tmp_path, "x")


@pytest.fixture(scope="module")
def weighted() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectors whose scores are dominated by 3 of 24 dimensions once scaled (like distilled retrieval weights)."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20_000, 24)).astype(np.float32)
    scale = np.r_[np.full(3, 20.0), np.full(21, 0.05)].astype(np.float32)
    return x, scale, rng.normal(size=(40, 24)).astype(np.float32)


def test_scaled_index_scores_queries_against_the_scaled_vectors(weighted) -> None:
    """(Clustering the unscaled vectors and scaling the queries instead reaches recall@50 of 0.68 here.)"""
    x, scale, queries = weighted
    index = VectorIndex(kind="ivf", nprobe=16).fit(x, scale=scale)
    assert index.recall_at_k(queries, 50) >= 0.85  # IVF lists clustered along the weighted dimensions
    _, exact = index.exact_search(queries, 10)
    brute = np.argsort(-(queries @ (x * scale).T), axis=1)[:, :10]
    np.testing.assert_array_equal(exact, brute)
    allowed = np.zeros(len(x), bool)
    allowed[::100] = True  # selective: answered exactly over the allowed rows
    _, rows = index.search_filtered(queries[0], 5, allowed)
    subset = np.flatnonzero(allowed)
    expected = subset[np.argsort(-((x[subset] * scale) @ queries[0]))[:5]]
    np.testing.assert_array_equal(rows, expected)


def test_scale_survives_save_and_load(tmp_path, weighted) -> None:
    x, scale, queries = weighted
    VectorIndex(kind="ivf").fit(x, scale=scale).save(tmp_path, "products")
    loaded = VectorIndex.load(tmp_path, "products")
    np.testing.assert_array_equal(loaded.scale_, scale)
    np.testing.assert_array_equal(loaded.exact_search(queries, 5)[1], np.argsort(-(queries @ (x * scale).T), 1)[:, :5])


@pytest.mark.parametrize("subset_rows", [20_000, 100])  # gathered subset / filtered scan of the whole index
@pytest.mark.parametrize("share", [0.9, 0.3, 0.05])
def test_flat_filtered_search_is_the_exact_top_k_of_the_allowed_rows(
    vectors: np.ndarray, share: float, subset_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("models.retrieval.ann._FLAT_SUBSET_ROWS", subset_rows)
    rng = np.random.default_rng(2)
    allowed = rng.random(len(vectors)) < share
    index = VectorIndex(kind="flat").fit(vectors)
    k = 25
    for query in vectors[:10]:
        scores, rows = index.search_filtered(query, k, allowed)
        brute = vectors @ query
        brute[~allowed] = -np.inf
        expected = np.sort(brute)[::-1][:k]
        assert allowed[rows].all() and len(set(rows.tolist())) == k
        np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)


def test_a_flat_filter_allowing_many_rows_all_far_from_the_query_is_still_answered_exactly(
    vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half the rows allowed, but exactly the half that scores lowest: the unfiltered search of k x overfetch /
    share rows finds none of them, and the scan with the filter answers."""
    monkeypatch.setattr("models.retrieval.ann._FLAT_SUBSET_ROWS", 100)
    index = VectorIndex(kind="flat").fit(vectors)
    query = vectors[3]
    brute = vectors @ query
    allowed = brute < np.median(brute)
    scores, rows = index.search_filtered(query, 25, allowed)
    expected = np.sort(np.where(allowed, brute, -np.inf))[::-1][:25]
    assert allowed[rows].all() and len(set(rows.tolist())) == 25
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def uneven() -> np.ndarray:
    """Vectors whose norms spread over two orders of magnitude (what ranker-weighted retrieval vectors look like)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4000, 12))
    return (x * np.exp(rng.normal(scale=1.0, size=(4000, 1)))).astype(np.float32)


def test_ivf_probing_every_list_is_exact_inner_product_search(uneven: np.ndarray) -> None:
    """The Euclidean reduction orders rows exactly as the inner product does, and the scores are inner products."""
    index = VectorIndex(kind="ivf", nlist=20, nprobe=20).fit(uneven)
    queries = np.random.default_rng(4).normal(size=(30, 12)).astype(np.float32)
    scores, rows = index.search(queries, 50)
    exact = queries @ uneven.T
    for i in range(len(queries)):
        want = np.argsort(-exact[i], kind="stable")[:50]
        assert set(rows[i]) == set(want)
        np.testing.assert_allclose(scores[i], exact[i, rows[i]], rtol=1e-4, atol=1e-3)
        assert np.all(np.diff(scores[i]) <= 1e-3)


def test_a_row_longer_than_any_at_build_is_found_with_its_exact_score(uneven: np.ndarray, tmp_path) -> None:
    index = VectorIndex(kind="ivf", nlist=20, nprobe=20).fit(uneven)
    query = np.ones(12, np.float32)
    longest = float(np.sqrt((uneven.astype(np.float64) ** 2).sum(axis=1).max()))
    new = (query / np.linalg.norm(query) * longest * 3).astype(np.float32)  # beyond the lifting norm
    grown = index.with_vectors(np.vstack([uneven, new[None, :]]), appended_only=True)
    scores, rows = grown.search(query[None, :], 10)
    assert rows[0, 0] == len(uneven)
    assert grown.mips_norm_ > index.mips_norm_  # the lifting norm grew with the new row
    # inner products up to float32 rounding of the distances, which are of the order of the lifting norm
    np.testing.assert_allclose(scores[0], grown.vectors_[rows[0]] @ query, rtol=0, atol=1e-6 * grown.mips_norm_)
    grown.save(tmp_path, "products")
    loaded = VectorIndex.load(tmp_path, "products")
    np.testing.assert_array_equal(loaded.search(query[None, :], 10)[1], rows)


def test_an_ivf_written_before_the_reduction_still_loads_and_searches(uneven: np.ndarray, tmp_path) -> None:
    import faiss

    old = VectorIndex(kind="ivf", nlist=20, nprobe=20).fit(uneven)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(12), 12, 20, faiss.METRIC_INNER_PRODUCT)
    ivf.train(uneven)
    ivf.add(uneven)
    ivf.nprobe = 20
    old.index_, old.mips_norm_ = ivf, None  # what bundles built before it hold
    old.save(tmp_path, "products")
    loaded = VectorIndex.load(tmp_path, "products")
    assert loaded.mips_norm_ is None
    query = np.random.default_rng(5).normal(size=(1, 12)).astype(np.float32)
    _, rows = loaded.search(query, 20)
    np.testing.assert_array_equal(rows[0], np.argsort(-(uneven @ query[0]), kind="stable")[:20])
    grown = loaded.with_vectors(np.vstack([uneven, uneven[:1]]), appended_only=True)
    assert grown.mips_norm_ is None and grown.index_.ntotal == len(uneven) + 1


def _mapped_kib(path) -> int:  # type: ignore[no-untyped-def]
    """KiB of ``path``'s mappings resident in this process (Linux ``/proc/self/smaps``)."""
    import re

    total, current = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                current = line.rstrip().endswith(str(path))
            elif current and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


def test_one_row_of_mapped_vectors_is_read_from_the_file_not_the_mapping(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(6)
    big = rng.normal(size=(40_000, 64)).astype(np.float32)  # 10 MB: random rows touch many pages
    VectorIndex(kind="flat").fit(big).save(tmp_path, "products")
    loaded = VectorIndex.load(tmp_path, "products", mmap=True)
    path = (tmp_path / "products.npy").resolve()
    rows = rng.choice(len(big), 20, replace=False)
    for r in rows:
        np.testing.assert_array_equal(loaded.row(int(r)), big[r])
    assert _mapped_kib(path) == 0  # read with pread: nothing of the file mapped into the process
    for r in rows:
        np.asarray(loaded.vectors_[int(r)]).copy()
    assert _mapped_kib(path) >= 20 * 4  # the premise: reading through the mapping maps at least a page a row
    in_memory = VectorIndex.load(tmp_path, "products", mmap=False)
    np.testing.assert_array_equal(in_memory.row(5), big[5])
    grown = loaded.with_vectors(np.vstack([big, big[:1]]), appended_only=True)
    np.testing.assert_array_equal(grown.row(len(big)), big[0])  # new rows: from memory


def test_rows_of_a_mapped_index_still_read_after_its_files_are_removed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A reload removes the old bundle's serving copy while requests of the old state may still read rows."""
    import pickle
    import shutil

    rng = np.random.default_rng(8)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    folder = tmp_path / "copy"
    VectorIndex(kind="flat").fit(vectors).save(folder, "products")
    loaded = VectorIndex.load(folder, "products", mmap=True)
    assert loaded.row_file_ is not None
    again = pickle.loads(pickle.dumps(loaded.row_file_))  # a Dask worker: opened again from the path
    np.testing.assert_array_equal(again.read(7), vectors[7])
    shutil.rmtree(folder)
    np.testing.assert_array_equal(loaded.row(123), vectors[123])
    np.testing.assert_array_equal(loaded.search(vectors[123:124], 1)[1][0], [123])


def test_a_selective_filter_on_a_mapped_flat_index_reads_its_own_rows_not_the_npy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(8)
    big = rng.normal(size=(40_000, 64)).astype(np.float32)
    scale = rng.uniform(0.5, 2.0, size=64).astype(np.float32)
    VectorIndex(kind="flat").fit(big, scale=scale).save(tmp_path, "creators")
    loaded = VectorIndex.load(tmp_path, "creators", mmap=True)
    path = (tmp_path / "creators.npy").resolve()
    allowed = np.zeros(len(big), bool)
    allowed[rng.choice(len(big), 3000, replace=False)] = True  # few enough rows for the exact subset path
    query = rng.normal(size=64).astype(np.float32)
    scores, rows = loaded.search_filtered(query, 25, allowed)
    exact = (big * scale) @ query
    want = np.flatnonzero(allowed)[np.argsort(-exact[allowed], kind="stable")[:25]]
    np.testing.assert_array_equal(rows, want)
    np.testing.assert_allclose(scores, exact[want], rtol=1e-5, atol=1e-5)
    assert _mapped_kib(path) == 0  # the unscaled copy was not read


def test_fp16_lists_find_what_flat_lists_find_in_half_the_bytes(vectors: np.ndarray, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Half-float lists, every list probed: recall of the exact top 50 as float32 lists' (1.0) but for near ties,
    scores within half-float rounding of the inner products, and half the file."""
    flat = VectorIndex(kind="ivf", nlist=20, nprobe=20, codec="flat").fit(vectors)
    half = VectorIndex(kind="ivf", nlist=20, nprobe=20, codec="fp16").fit(vectors)
    queries = np.random.default_rng(4).normal(size=(40, 16)).astype(np.float32)
    assert recall_against_brute_force(flat, queries, vectors, None, 50) == 1.0
    assert recall_against_brute_force(half, queries, vectors, None, 50) >= 0.99
    scores, rows = half.search(queries, 50)
    exact = (queries[:, None, :] * vectors[rows]).sum(axis=2)
    np.testing.assert_allclose(scores, exact, rtol=0, atol=1e-3 * half.mips_norm_)
    flat.save(tmp_path / "flat", "products")
    half.save(tmp_path / "fp16", "products")
    size = lambda d: (tmp_path / d / "products.faiss").stat().st_size  # noqa: E731
    assert size("fp16") < 0.6 * size("flat")


@pytest.mark.parametrize("mmap", [False, True])
def test_fp16_lists_survive_save_load_and_new_rows(vectors: np.ndarray, tmp_path, mmap: bool) -> None:  # type: ignore[no-untyped-def]
    index = VectorIndex(kind="ivf", nlist=20, nprobe=20, codec="fp16").fit(vectors[:2500])
    index.save(tmp_path, "products")
    loaded = VectorIndex.load(tmp_path, "products", mmap=mmap)
    assert loaded.codec == "fp16"
    queries = vectors[2500:2540]
    np.testing.assert_array_equal(index.search(queries, 10)[1], loaded.search(queries, 10)[1])
    grown = loaded.with_vectors(vectors)  # rows added to new lists over the trained quantizer, no training
    assert grown.codec == "fp16"
    assert grown.n_rows == len(vectors)
    assert recall_against_brute_force(grown, queries, vectors, None, 10) >= 0.99


@pytest.mark.parametrize("codec", ["flat", "fp16"])
def test_lifted_lists_are_padded_to_a_simd_width_and_unpadded_ones_still_load(
    uneven: np.ndarray, tmp_path, codec: str
) -> None:  # type: ignore[no-untyped-def]
    import faiss

    from models.retrieval.rows import lifted

    index = VectorIndex(kind="ivf", nlist=20, nprobe=20, codec=codec).fit(uneven)  # type: ignore[arg-type]
    assert index.index_.d == 16  # 12 dimensions and the lifting one, then zeros up to a multiple of 8
    # what bundles written before the padding hold: the same lists at width 13
    ivf = faiss.extract_index_ivf(index.index_)
    quantizer = faiss.IndexFlatL2(13)
    quantizer.add(np.ascontiguousarray(ivf.quantizer.reconstruct_n(0, ivf.nlist)[:, :13]))
    if codec == "flat":
        narrow = faiss.IndexIVFFlat(quantizer, 13, ivf.nlist, faiss.METRIC_L2)
    else:
        narrow = faiss.IndexIVFScalarQuantizer(quantizer, 13, ivf.nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_L2)
    narrow.is_trained = True
    narrow.add(lifted(uneven * index.scale_, index.mips_norm_))
    narrow.nprobe = 20
    old = VectorIndex(kind="ivf", nlist=20, nprobe=20, codec=codec).fit(uneven)  # type: ignore[arg-type]
    old.index_ = narrow
    old.save(tmp_path, "products")
    loaded = VectorIndex.load(tmp_path, "products")
    assert loaded.index_.d == 13
    queries = np.random.default_rng(6).normal(size=(20, 12)).astype(np.float32)
    wide_scores, wide_rows = index.search(queries, 30)
    narrow_scores, narrow_rows = loaded.search(queries, 30)
    overlap = np.mean([len(set(a) & set(b)) / 30 for a, b in zip(wide_rows, narrow_rows, strict=True)])
    assert overlap >= (1.0 if codec == "flat" else 0.97)
    np.testing.assert_allclose(wide_scores, narrow_scores, rtol=0, atol=1e-3 * index.mips_norm_)
    grown = loaded.with_vectors(np.vstack([uneven, uneven[:1]]), appended_only=True)
    assert grown.index_.d == 13 and grown.search(queries[:1], 5)[1].shape == (1, 5)  # new rows at the old width


def test_lifted_refuses_a_width_with_no_room_for_the_lifting_coordinate() -> None:
    from models.retrieval.rows import lifted, lifted_width

    assert [lifted_width(d) for d in (7, 8, 112, 119)] == [8, 16, 120, 120]
    out = lifted(np.ones((2, 3), np.float32), 12.0, width=8)
    np.testing.assert_allclose(out, [[1, 1, 1, 3, 0, 0, 0, 0]] * 2)
    with pytest.raises(ValueError, match="must exceed the vectors' 3 dimensions"):
        lifted(np.ones((2, 3), np.float32), 12.0, width=3)


@pytest.fixture(scope="module")
def zero_weighted() -> tuple[np.ndarray, np.ndarray]:
    """Vectors of 20 dimensions, 5 of which the retrieval model gave no weight (as 15 of 112 at the 1M bench)."""
    rng = np.random.default_rng(7)
    scale = np.exp(rng.normal(size=20)).astype(np.float32)
    scale[[0, 3, 4, 11, 19]] = 0.0
    return (rng.normal(size=(3000, 20)) * np.exp(rng.normal(size=(3000, 1)))).astype(np.float32), scale


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_zero_weight_dimensions_are_not_stored_and_scores_stay_the_inner_products(
    zero_weighted, kind: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    x, scale = zero_weighted
    index = VectorIndex(kind=kind, nlist=20, nprobe=20).fit(x, scale=scale)  # type: ignore[arg-type]
    np.testing.assert_array_equal(index.columns_, np.flatnonzero(scale))
    assert index.index_.d == (15 if kind == "flat" else 16)  # ivf: 15 + the lifting coordinate
    queries = np.random.default_rng(8).normal(size=(10, 20)).astype(np.float32)  # weight-0 coordinates not zero
    brute = queries @ (x * scale).T
    scores, rows = index.search(queries, 10)
    np.testing.assert_array_equal(rows, np.argsort(-brute, axis=1)[:, :10])
    np.testing.assert_allclose(scores, np.take_along_axis(brute, rows, 1), rtol=1e-4, atol=1e-3)
    index.save(tmp_path, "creators")
    loaded = VectorIndex.load(tmp_path, "creators", mmap=True)
    np.testing.assert_array_equal(loaded.columns_, index.columns_)
    np.testing.assert_array_equal(loaded.search(queries, 10)[1], rows)
    assert loaded.dim == 20 and loaded.rows(np.array([5])).shape == (1, 20)  # the unscaled rows keep every column
    longest = np.argmax(np.linalg.norm(x * scale, axis=1))
    more = np.vstack([x, 2 * x[longest : longest + 1]])  # a new row longer than any: a higher lifting norm
    grown = loaded.with_vectors(more, appended_only=True)
    assert grown.index_.d == index.index_.d
    np.testing.assert_array_equal(grown.search(queries, 3)[1], np.argsort(-(queries @ (more * scale).T), axis=1)[:, :3])


@pytest.mark.parametrize("subset_rows", [20_000, 100])  # gathered from the stored rows / a bitmap scan
@pytest.mark.parametrize("share", [0.9, 0.05])
def test_a_flat_index_without_its_zero_weight_columns_filters_exactly(
    zero_weighted, share: float, subset_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("models.retrieval.ann._FLAT_SUBSET_ROWS", subset_rows)
    x, scale = zero_weighted
    index = VectorIndex(kind="flat").fit(x, scale=scale)
    allowed = np.random.default_rng(9).random(len(x)) < share
    for query in np.random.default_rng(10).normal(size=(5, 20)).astype(np.float32):
        scores, rows = index.search_filtered(query, 25, allowed)
        brute = np.where(allowed, (x * scale) @ query, -np.inf)
        np.testing.assert_array_equal(rows, np.argsort(-brute)[:25])
        np.testing.assert_allclose(scores, brute[rows], rtol=1e-4, atol=1e-3)


def test_an_index_that_stores_every_column_still_loads_and_searches(
    zero_weighted, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Indexes saved before 2026-12-05 store every column, zero-weight ones included, and name none."""
    x, scale = zero_weighted
    with monkeypatch.context() as patch:
        patch.setattr("models.retrieval.ann._weighted_columns", lambda s: None)
        VectorIndex(kind="flat").fit(x, scale=scale).save(tmp_path, "creators")
    assert "columns" not in (tmp_path / "creators.json").read_text()
    old = VectorIndex.load(tmp_path, "creators")
    assert old.columns_ is None and old.index_.d == 20
    query = np.random.default_rng(11).normal(size=20).astype(np.float32)
    new = VectorIndex(kind="flat").fit(x, scale=scale)
    np.testing.assert_array_equal(old.search(query[None], 10)[1], new.search(query[None], 10)[1])
    allowed = np.arange(len(x)) % 3 == 0
    np.testing.assert_array_equal(
        old.search_filtered(query, 10, allowed)[1], new.search_filtered(query, 10, allowed)[1]
    )


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
@pytest.mark.parametrize("mmap", [False, True])
def test_stored_rows_are_a_flat_index_s_weighted_columns_and_other_kinds_have_none(
    zero_weighted, kind: str, mmap: bool, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    x, scale = zero_weighted
    VectorIndex(kind=kind, nlist=20).fit(x, scale=scale).save(tmp_path, "creators")  # type: ignore[arg-type]
    index = VectorIndex.load(tmp_path, "creators", mmap=mmap)  # mapped: FAISS's codes at an unaligned offset
    rows = np.array([7, 0, 2999, 7, 1500])
    got = index.stored_rows(rows)
    if kind != "flat":
        assert got is None
        return
    np.testing.assert_array_equal(got, (x[rows] * scale)[:, np.flatnonzero(scale)])
    assert index.stored_rows(np.empty(0, np.int64)).shape == (0, 15)
