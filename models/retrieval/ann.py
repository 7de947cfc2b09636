"""A FAISS inner-product index with filtered search that never leaves a list short.

:class:`VectorIndex` follows scikit-learn's estimator contract: the constructor stores settings, :meth:`fit`
builds the index and returns ``self``, learned state ends in ``_``. An optional per-dimension ``scale`` folds a
fixed query weighting into the stored side: scores are ``<q, scale * v>``, and the IVF coarse quantizer is trained on
the scaled vectors, so its lists follow the directions that queries weigh (clustering the unscaled vectors left
recall@100 at 0.04 on 1M products; scaled, 0.90 at the same nprobe). Filtering (by category, region, fan tier,
eligibility...) is a boolean mask over rows; the search over-fetches and widens until ``k`` allowed rows are found,
and switches to exact search over the allowed rows when the mask is selective (so a filtered list is always as
full as the allowed rows permit).

IVF searches inner products as Euclidean distances (the reduction of Bachrach et al., RecSys 2014): every stored
vector gets one more coordinate, ``sqrt(M - |v|^2)`` with ``M`` the largest squared norm, queries get 0, and then
``|q - v|^2 = |q|^2 + M - 2<q, v>`` orders rows exactly as the inner product does, while k-means and the choice of
lists to probe work in the metric they are made for. With inner-product lists, products of unusual norm sat in
small lists whose centroids ranked low for the very queries that wanted them: on the 1M bench bundle recall@500 of
the ranker's top 10 was .949 at 16 probes *and* at 256 (exact search: .971); with the reduction, .971 at 16 probes,
at the same speed (``bench/PROFILE.md``). Scores returned are inner products, to float32 rounding of distances of
the order of ``M``. The lifted vectors are padded with zero coordinates to a multiple of 8
(:func:`.rows.lifted_width`): FAISS's half-float lists compute distances with SIMD only at such widths, and the
1M bench products' searches went from 3.24 to 0.66 ms (112 dimensions, 113 lifted, 120 padded). Zeros change no
distance.

Dimensions whose ``scale`` is 0 (the retrieval model gave them no weight: 15 of 112 for the 1M bench's creators, 13
for its products) are left out of the FAISS index, which stores and scans only the other columns (``columns_``); a
query's zero-weight coordinates met only zeros, so no score changes beyond float32 rounding. A scan of 100k creators
reads 13% fewer bytes and the products' half-float lists are 104 wide instead of 120 (``bench/PROFILE.md``). The
unscaled vectors (``<name>.npy``) keep every dimension; indexes saved before this keep all theirs.

IVF lists hold their own copy of every stored vector: ``codec="flat"`` as float32, ``codec="fp16"`` as half floats
(FAISS's scalar quantizer ``QT_fp16``): half the index's bytes — the part of a worker's memory that is neither the
bundle's vectors nor its tables — for distances to ~3 significant digits inside the lists; candidates are ranked
again by the ranker, so only which rows are retrieved can change (1M products: recall@500 of the ranker's exact top
10 .974 → .972, ``bench/PROFILE.md``). Eight-bit codes (``QT_8bit``) were measured and left out: the lifting
coordinate spans the whole range of norms, so 256 levels per dimension lose the differences between rows (recall@500
.048).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from features.tables import load_npy
from models.retrieval.rows import RowFile, lifted, lifted_width, squared_norms, strided_blocks, subset_topk

IndexKind = Literal["auto", "flat", "ivf", "hnsw"]
IvfCodec = Literal["flat", "fp16"]

# Below this many allowed rows a filtered query of an IVF or HNSW index is answered exactly over those rows (a
# small matmul).
_EXACT_SUBSET_ROWS = 20_000
# A flat index gathers the allowed rows only while they fit in a core's L2 cache (4,096 rows of 112 float32 are
# 1.8 MiB); past it, one scan with a selector bitmap is cheaper, the whole index being read anyway. 100k creators,
# 1,000 of the allowed rows asked for: 3,000 rows gathered 0.26 ms, scanned 0.47; 6,000 rows 2.37 vs 1.19; 12,000
# rows 2.84 vs 1.13; 20,000 rows 6.27 vs 2.62 (``bench/PROFILE.md``).
_FLAT_SUBSET_ROWS = 4_096
# From this share of allowed rows, a flat index first tries one unfiltered search of k x overfetch / share rows:
# FAISS's scan with a selector bitmap tests each row and was ~1.8x slower than the plain scan (100k creators, 62%
# allowed, 1,000 of them); exact whenever k allowed rows are among those fetched, else the bitmap scan answers.
_UNFILTERED_SHARE = 0.25


def _as_f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def _weighted_columns(scale: np.ndarray) -> np.ndarray | None:
    """The dimensions a nonzero ``scale`` keeps, or None when it keeps all (or none: an all-zero scale is stored as
    it is, every score 0)."""
    kept = np.flatnonzero(scale != 0)
    return None if kept.size in (0, scale.size) else kept


def _stored_side(x: np.ndarray, scale: np.ndarray | None, columns: np.ndarray | None) -> np.ndarray:
    """What the FAISS index stores of vectors ``x``: each dimension times ``scale`` (None: as they are), only the
    ``columns`` kept (None: all), as one float32 copy."""
    if columns is not None:
        x, scale = x[:, columns], None if scale is None else scale[columns]
    return _as_f32(x if scale is None else x * scale)


def _ivf(quantizer: faiss.Index, d: int, nlist: int, codec: IvfCodec) -> faiss.IndexIVF:
    """Empty Euclidean IVF lists over ``quantizer`` storing vectors as ``codec`` says (half floats need no training
    of their own: lists are rebuilt over a trained quantizer as they are)."""
    if codec == "flat":
        return faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_L2)
    return faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_L2)


class VectorIndex:
    """Inner-product search over ``n`` row vectors of dimension ``d``.

    Parameters
    ----------
    kind : "auto" picks exact ("flat") below ``exact_threshold`` rows and "ivf" above; "hnsw" on request.
    exact_threshold : row count under which "auto" stays exact.
    nlist : IVF lists (default ``sqrt(n)``, at most ``n / 39`` so every list trains): fewer, larger lists suit
        retrieving ~1,000 candidates per query.
    nprobe : IVF lists visited per query.
    hnsw_m, ef_search : HNSW graph degree and search breadth.
    seed : seed of the IVF k-means.
    codec : how IVF lists store vectors: "flat" (float32) or "fp16" (half floats, half the bytes).
    """

    def __init__(
        self,
        kind: IndexKind = "auto",
        exact_threshold: int = 200_000,
        nlist: int | None = None,
        nprobe: int = 16,
        hnsw_m: int = 32,
        ef_search: int = 128,
        seed: int = 0,
        codec: IvfCodec = "flat",
    ) -> None:
        self.kind = kind
        self.exact_threshold = exact_threshold
        self.nlist = nlist
        self.nprobe = nprobe
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.seed = seed
        self.codec = codec

    # --- build ------------------------------------------------------------------------------------------------

    def _resolved_kind(self, n: int) -> Literal["flat", "ivf", "hnsw"]:
        if self.kind != "auto":
            return self.kind
        return "flat" if n < self.exact_threshold else "ivf"

    def fit(self, vectors: np.ndarray, scale: np.ndarray | None = None) -> VectorIndex:
        """Build the index over ``vectors`` of shape (n_rows, dim), each dimension multiplied by ``scale``; the
        dimensions a zero scale leaves out are not stored in the FAISS index (``columns_``)."""
        x = _as_f32(vectors)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"vectors must be a non-empty 2-D array, got shape {x.shape}")
        n, d = x.shape
        s = np.ones(d, np.float32) if scale is None else _as_f32(scale).reshape(-1)
        if s.shape != (d,):
            raise ValueError(f"scale must have one entry per dimension ({d}), got shape {s.shape}")
        kind = self._resolved_kind(n)
        columns = _weighted_columns(s) if kind != "hnsw" else None
        scaled = _stored_side(x, None if scale is None else s, columns)
        d = scaled.shape[1]
        mips_norm: float | None = None
        if kind == "flat":
            index: faiss.Index = faiss.IndexFlatIP(d)
        elif kind == "ivf":
            nlist = self.nlist or int(math.sqrt(n))
            nlist = max(1, min(nlist, n // 39))
            squared = squared_norms(scaled)
            mips_norm = float(squared.max())
            width = lifted_width(d)
            scaled = lifted(scaled, mips_norm, squared, width)
            index = _ivf(faiss.IndexFlatL2(width), width, nlist, self.codec)
            index.cp.seed = self.seed
            index.train(scaled)
            index.nprobe = min(self.nprobe, nlist)
        else:
            index = faiss.IndexHNSWFlat(d, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = self.ef_search
        index.add(scaled)
        del scaled
        self.index_ = index
        self.kind_ = kind
        self.vectors_ = x
        self.scale_ = s
        self.columns_ = columns
        self.mips_norm_ = mips_norm
        self.row_file_: RowFile | None = None
        return self

    def with_vectors(self, vectors: np.ndarray, appended_only: bool = False) -> VectorIndex:
        """A new index of the same kind and scale over ``vectors`` (n_rows >= this index's; rows may have changed),
        this one untouched. Flat: a new exact index; IVF: the trained coarse quantizer, every vector added to new
        lists (no k-means); HNSW: the graph copied and the appended rows added when ``appended_only``, else rebuilt.
        Used to add entities written after training (``models.overlay``)."""
        x = _as_f32(vectors)
        if x.ndim != 2 or x.shape[1] != self.dim or x.shape[0] < self.n_rows:
            raise ValueError(f"vectors of shape {x.shape} cannot replace an index of {self.n_rows}x{self.dim}")
        scaled = _stored_side(x, self.scale_, self.columns_)
        d = scaled.shape[1]
        mips_norm = self.mips_norm_
        if self.kind_ == "ivf":
            ivf = faiss.extract_index_ivf(self.index_)
            quantizer = faiss.clone_index(ivf.quantizer)
            if mips_norm is not None:
                # a new row longer than the build's longest raises the lifting norm, so the reduction stays exact
                # (the trained lists are kept: only which lists a query probes can shift a little)
                squared = squared_norms(scaled)
                mips_norm = max(mips_norm, float(squared.max()))
                scaled = lifted(scaled, mips_norm, squared, ivf.d)  # the trained quantizer's width
                index: faiss.Index = _ivf(quantizer, ivf.d, ivf.nlist, self.codec)
            else:
                index = faiss.IndexIVFFlat(quantizer, d, ivf.nlist, faiss.METRIC_INNER_PRODUCT)
            index.is_trained = True
            faiss.ParameterSpace().set_index_parameter(index, "nprobe", ivf.nprobe)
            index.add(scaled)
        elif self.kind_ == "hnsw" and appended_only:
            index = faiss.clone_index(self.index_)
            index.add(scaled[self.n_rows :])
        elif self.kind_ == "hnsw":
            index = faiss.IndexHNSWFlat(d, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = self.ef_search
            index.add(scaled)
        else:
            index = faiss.IndexFlatIP(d)
            index.add(scaled)
        out = VectorIndex(
            self.kind, self.exact_threshold, self.nlist, self.nprobe, self.hnsw_m, self.ef_search, self.seed, self.codec
        )
        out.index_, out.kind_, out.vectors_, out.scale_ = index, self.kind_, x, self.scale_
        out.columns_ = self.columns_
        out.mips_norm_ = mips_norm
        out.row_file_ = None
        return out

    def row(self, i: int) -> np.ndarray:
        """Row ``i`` of the (unscaled) vectors; of vectors mapped from a file, read from the file (see
        :class:`RowFile`)."""
        if self.row_file_ is not None and 0 <= i < self.n_rows:
            return self.row_file_.read(i)
        return np.asarray(self.vectors_[i])

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` of the (unscaled) vectors; of vectors mapped from a file, read from the file."""
        if self.row_file_ is not None:
            return self.row_file_.read_rows(rows)
        return np.asarray(self.vectors_[rows])

    def stored_rows(self, rows: np.ndarray) -> np.ndarray | None:
        """A flat index's own copy of rows ``rows`` — the vectors times ``scale``, in the ``columns_`` it keeps —
        gathered from FAISS's memory (no file read), or None for the other kinds, whose codes are not read here
        (reading rows from an IVF index's half-float lists saved a creator list ~0.12 ms for 8 bytes a product and
        scores to half-float precision: not kept, ``bench/PROFILE.md``)."""
        stored = self._stored()
        # indexing, not np.take: FAISS's mapped codes sit at an unaligned offset of the file, and np.take copies an
        # unaligned array whole first (5.2 ms for 200 of 100k rows, against 0.01)
        return None if stored is None else stored[np.asarray(rows, dtype=np.int64)]

    def every(self, step: int, block: int = 65_536) -> Iterator[np.ndarray]:
        """Every ``step``-th row of the (unscaled) vectors, ``block`` at a time; of vectors mapped from a file, read
        from the file (a strided pass over the mapping would make the whole file resident)."""
        if self.row_file_ is not None:
            yield from self.row_file_.every(step, self.n_rows, block)
        else:
            yield from strided_blocks(self.vectors_, step, block)

    @property
    def n_rows(self) -> int:
        return int(self.vectors_.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors_.shape[1])

    @property
    def nlist_(self) -> int | None:
        """A fitted IVF index's number of lists (None for other kinds)."""
        return int(faiss.extract_index_ivf(self.index_).nlist) if self.kind_ == "ivf" else None

    def set_nprobe(self, nprobe: int) -> None:
        """Visit ``nprobe`` lists per query from now on (an IVF index; at most its lists), and save it so."""
        if self.kind_ != "ivf":
            raise ValueError(f"nprobe applies to an IVF index, not {self.kind_!r}")
        self.nprobe = max(1, min(nprobe, self.nlist_ or nprobe))
        faiss.extract_index_ivf(self.index_).nprobe = self.nprobe

    # --- search -----------------------------------------------------------------------------------------------

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows per query. Returns (scores, rows), each of shape (n_queries, k); missing slots are -1."""
        q = self._indexed(np.atleast_2d(queries))
        k = min(k, self.n_rows)
        if self.mips_norm_ is None:
            return self.index_.search(q, k)
        distances, rows = self.index_.search(lifted(q, None, width=self.index_.d), k)
        scores = ((squared_norms(q)[:, None] + self.mips_norm_ - distances) / 2).astype(np.float32)
        scores[rows < 0] = -np.finfo(np.float32).max  # what an inner-product index gives an empty slot
        return scores, rows

    def _indexed(self, queries: np.ndarray) -> np.ndarray:
        """Queries (n, dim) as the FAISS index takes them: float32, only the columns it stores."""
        return _as_f32(queries if self.columns_ is None else queries[:, self.columns_])

    def exact_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``k`` by brute force (the reference for recall)."""
        q = _as_f32(np.atleast_2d(queries) * self.scale_)
        k = min(k, self.n_rows)
        scores, rows = faiss.knn(q, self.vectors_, k, metric=faiss.METRIC_INNER_PRODUCT)
        return scores, rows

    def search_filtered(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None, overfetch: float = 2.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` allowed rows for one query (1-D ``query``; ``allowed`` a bool mask over rows or None).

        Returns (scores, rows) of length min(k, allowed rows), best first.
        """
        q = _as_f32(query).reshape(1, -1)
        if allowed is None:
            scores, rows = self.search(q, k)
            keep = rows[0] >= 0
            return scores[0][keep], rows[0][keep].astype(np.int64)
        allowed_rows = np.flatnonzero(allowed)
        stored = self._stored()
        if stored is not None and allowed_rows.size <= _FLAT_SUBSET_ROWS:  # the flat index's own rows
            return subset_topk(stored, allowed_rows, self._indexed(q)[0], k)
        if stored is None and (allowed_rows.size <= _EXACT_SUBSET_ROWS or allowed_rows.size <= 4 * k):
            return subset_topk(self.vectors_, allowed_rows, q[0] * self.scale_, k)
        share = allowed_rows.size / self.n_rows
        if self.kind_ == "flat":  # many allowed rows: one scan beats gathering them
            if share >= _UNFILTERED_SHARE:
                fetch = int(min(self.n_rows, math.ceil(k * overfetch / share)))
                scores, rows = self.search(q, fetch)
                found = rows[0][rows[0] >= 0]
                take = np.flatnonzero(allowed[found])[:k]
                if len(take) >= min(k, allowed_rows.size):
                    return scores[0][take], found[take].astype(np.int64)
            return self._search_selected(q, k, allowed)
        fetch = int(min(self.n_rows, math.ceil(k * overfetch / share)))
        while True:
            scores, rows = self.search(q, fetch)
            found = rows[0][rows[0] >= 0]
            mask = allowed[found]
            if mask.sum() >= k or fetch >= self.n_rows:
                take = np.flatnonzero(mask)[:k]
                return scores[0][take], found[take].astype(np.int64)
            if fetch * 2 >= self.n_rows:  # widening would scan almost everything: answer exactly instead
                return subset_topk(self.vectors_, allowed_rows, q[0] * self.scale_, k)
            fetch *= 2

    def _stored(self) -> np.ndarray | None:
        """A flat index's stored rows (the vectors times ``scale``, the ``columns_`` it keeps) as a read-only array
        over FAISS's own memory (mapped from the file when loaded with ``mmap``), or None for other kinds. Gathering
        allowed rows from them instead of from the unscaled ``.npy`` keeps one copy of the rows in a worker: product
        lists that gathered creator rows through the mapping made all of ``creators.npy`` resident (43 MiB at
        100k)."""
        if self.kind_ != "flat":
            return None
        index = self.index_
        xb = index.get_xb()  # type: ignore[attr-defined]  # IndexFlatIP, which the stubs do not know
        stored = faiss.rev_swig_ptr(xb, index.ntotal * index.d).reshape(index.ntotal, index.d)
        stored.flags.writeable = False
        return stored

    def _search_selected(self, q: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``k`` of the allowed rows in one scan of a flat index (FAISS skips the rows outside the
        bitmap), instead of widening an unfiltered search: one pass over 100k creators is ~2 ms."""
        bitmap = np.packbits(allowed, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
        params = faiss.SearchParameters()
        params.sel = selector
        scores, rows = self.index_.search(self._indexed(q), min(k, self.n_rows), params=params)
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep].astype(np.int64)

    def recall_at_k(self, queries: np.ndarray, k: int, exact: np.ndarray | None = None) -> float:
        """Mean share of the exact top-``k`` that the index returns in its top-``k`` (1.0 for flat); ``exact``: the
        rows of :meth:`exact_search` for these queries, when already known."""
        _, approx = self.search(queries, k)
        exact = self.exact_search(queries, k)[1] if exact is None else exact
        hits = [
            len(set(a[a >= 0]) & set(e[e >= 0])) / max(1, (e >= 0).sum()) for a, e in zip(approx, exact, strict=True)
        ]
        return float(np.mean(hits))

    # --- persistence --------------------------------------------------------------------------------------------

    def save(self, directory: Path, name: str) -> None:
        """Write ``<name>.faiss`` (the index over scaled vectors), ``<name>.npy`` (the unscaled vectors) and
        ``<name>.json`` (settings and the scale)."""
        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index_, str(directory / f"{name}.faiss"))
        np.save(directory / f"{name}.npy", self.vectors_)
        meta: dict[str, object] = {
            "kind": self.kind_,
            "nprobe": self.nprobe,
            "ef_search": self.ef_search,
            "n_rows": self.n_rows,
            "dim": self.dim,
            "scale": self.scale_.tolist(),
            "codec": self.codec if self.kind_ == "ivf" else "flat",
        }
        if self.mips_norm_ is not None:
            meta["mips_norm"] = self.mips_norm_
        if self.columns_ is not None:
            meta["columns"] = self.columns_.tolist()
        (directory / f"{name}.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path, name: str, mmap: bool = False) -> VectorIndex:
        """Read an index written by :meth:`save`; checks that index, vectors and settings agree. ``mmap`` maps the
        index and the vectors from their files (read only), so processes serving the same bundle share them."""
        meta = json.loads((directory / f"{name}.json").read_text())
        # IO_FLAG_MMAP_IFC maps the flat codes / inverted lists from the file instead of copying them (read only)
        index = faiss.read_index(str(directory / f"{name}.faiss"), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
        path = directory / f"{name}.npy"
        row_file = None
        if mmap:  # one mapping; its data offset tells where each row sits for one-row reads
            mapped = np.load(path, mmap_mode="r")
            vectors = mapped.view(np.ndarray)  # as load_npy(mmap=True) gives it
            if mapped.ndim == 2 and mapped.shape[0] > 0 and mapped.flags.c_contiguous:
                row_file = RowFile(str(path), int(mapped.offset), mapped[0].nbytes, mapped.dtype)
        else:
            vectors = load_npy(path)
        mips_norm = meta.get("mips_norm")  # indexes written before the Euclidean reduction have none
        columns = None if meta.get("columns") is None else np.asarray(meta["columns"], dtype=np.int64)
        stored = meta["dim"] if columns is None else len(columns)  # all columns before 2026-12-05
        # lifted: one more coordinate, padded to lifted_width since 2026-12-04 (not before)
        widths = {stored + 1, lifted_width(stored)} if mips_norm is not None else {stored}
        if index.ntotal != meta["n_rows"] or vectors.shape != (meta["n_rows"], meta["dim"]) or index.d not in widths:
            raise ValueError(
                f"index {name!r} does not match its vectors: index {index.ntotal}x{index.d}, "
                f"vectors {vectors.shape}, manifest {meta['n_rows']}x{meta['dim']}"
            )
        obj = cls(
            kind=meta["kind"], nprobe=meta["nprobe"], ef_search=meta["ef_search"], codec=meta.get("codec", "flat")
        )
        if meta["kind"] == "ivf":
            faiss.ParameterSpace().set_index_parameter(index, "nprobe", meta["nprobe"])
        elif meta["kind"] == "hnsw":
            faiss.ParameterSpace().set_index_parameter(index, "efSearch", meta["ef_search"])
        obj.index_ = index
        obj.kind_ = meta["kind"]
        obj.vectors_ = vectors
        obj.scale_ = np.asarray(meta.get("scale", np.ones(meta["dim"])), dtype=np.float32)
        obj.columns_ = columns
        obj.mips_norm_ = None if mips_norm is None else float(mips_norm)
        obj.row_file_ = row_file
        if obj.scale_.shape != (meta["dim"],):
            raise ValueError(f"index {name!r}: scale has {obj.scale_.size} entries for {meta['dim']} dimensions")
        if columns is not None and (columns.size == 0 or columns.min() < 0 or columns.max() >= meta["dim"]):
            raise ValueError(f"index {name!r}: columns {columns.tolist()} are not among its {meta['dim']} dimensions")
        return obj
