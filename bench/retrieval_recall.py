"""Retrieval recall of the creator ranker's exact top 10 over the whole catalogue (issue 20, item 4), on held-out
creators: the figures of ``bench/PROFILE.md`` ("Retrieval recall at 1M").

    python -m bench.retrieval_recall --scale 1 --creators 200             # the current bundle's retriever
    python -m bench.retrieval_recall --scale 1 --rebuild 0 --rebuild 8   # rebuilt without / with the prior
    python -m bench.retrieval_recall --scale 1 --creators 100 --codec flat --codec fp16  # + rebuilt lists

For each sampled creator every product is scored by the bundle's creator -> products ranker (compiled; ~4.4 s a
creator at 1M products), and its top 10 is compared with the retriever's top ``k`` by exact search over the
weighted vectors and by the FAISS index. ``--rebuild N`` (repeatable) first rebuilds the retriever from the bundle's
tables and rankers with ``prior_anchors=N`` (``models.retrieval.build.build_retriever``; ~10 min at 1M, most of it
its own recall measurement). ``--codec C`` (repeatable) adds the bundle's retriever with its product index rebuilt
from the same vectors, scale and list count with lists of codec ``C`` (``retrieval.ivf_codec``: flat, fp16; a few
minutes each at 1M). Creators are
drawn with ``--seed``, independently of the build's own samples. Each retriever's product index is also compared
with exact search (recall@1,000 of the exact top 1,000) and its file size is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import faiss
import numpy as np
from rich.progress import track

from bench import data
from bench.inprocess import CANDIDATES
from bench.run import OUT
from models.bundle import load_current
from models.engine import Engine
from models.retrieval.ann import IvfCodec, VectorIndex
from models.retrieval.build import build_retriever
from models.retrieval.retriever import Retriever
from recsys.core.config import RetrievalSettings
from recsys.core.vocab import Direction

_CHUNK = 250_000


def exhaustive_top(engine: Engine, creators: np.ndarray, k: int = 10) -> np.ndarray:
    """(n_creators, k) product rows of the creator ranker's top ``k`` over every product."""
    tables, ranker = engine.tables, engine.rankers[Direction.CREATOR]
    n_p = len(tables.products)
    out = np.empty((len(creators), k), np.int64)
    for i, c in enumerate(track(creators, description="exhaustive ranking")):
        scores = np.empty(n_p)
        for lo in range(0, n_p, _CHUNK):
            p = np.arange(lo, min(n_p, lo + _CHUNK))
            scores[lo : lo + len(p)] = ranker.predict(tables.vectors(np.full(len(p), c), p))
        top = np.argpartition(-scores, k)[:k]
        out[i] = top[np.argsort(-scores[top], kind="stable")]
    return out


def recall(retriever: Retriever, creators: np.ndarray, top: np.ndarray, k: int) -> tuple[float, float]:
    """(exact-search recall@k, index recall@k) of ``top`` for ``creators``."""
    index = retriever.index_for(Direction.CREATOR)
    stored = np.asarray(retriever.product_vectors) * index.scale_
    exact, approx = [], []
    for i, c in enumerate(creators):
        query = retriever.base(Direction.CREATOR, int(c))
        scores = stored @ query
        kth = np.partition(-scores, k - 1)[k - 1]
        exact.append(float((-scores[top[i]] <= kth).mean()))
        _, found = index.search(query[None, :], k)
        approx.append(float(np.isin(top[i], found[0]).mean()))
    return float(np.mean(exact)), float(np.mean(approx))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="the bench workspace (1 = 1M products)")
    parser.add_argument("--creators", type=int, default=200, help="held-out creators to rank exhaustively")
    parser.add_argument("--k", type=int, default=500, help="retrieval depth")
    parser.add_argument("--seed", type=int, default=11, help="seed of the creators drawn")
    parser.add_argument(
        "--rebuild", type=int, action="append", default=[], metavar="ANCHORS", help="rebuild with prior_anchors"
    )
    parser.add_argument(
        "--codec", action="append", default=[], choices=["flat", "fp16"], help="also the bundle's vectors in such lists"
    )
    args = parser.parse_args()
    big, _ = data.workspaces(OUT, args.scale)
    engine = load_current(big.root / "artifacts", mmap=True, compiled=True).engine
    rng = np.random.default_rng(args.seed)
    creators = rng.choice(
        len(engine.tables.creators), size=min(args.creators, len(engine.tables.creators)), replace=False
    )
    top = exhaustive_top(engine, creators)
    retrievers = [("the bundle's retriever", engine.retriever)]
    for anchors in args.rebuild:
        started = time.perf_counter()
        rebuilt, _ = build_retriever(engine.tables, engine.rankers, RetrievalSettings(prior_anchors=anchors), seed=1)
        retrievers.append((f"rebuilt, prior_anchors={anchors} ({time.perf_counter() - started:.0f} s)", rebuilt))
    for codec in args.codec:
        retrievers.append((f"the bundle's vectors in {codec} lists", with_codec(engine.retriever, codec)))
    print(f"recall@{args.k} of the creator ranker's exact top 10, {len(creators)} creators (seed {args.seed}):")
    for name, retriever in retrievers:
        exact, approx = recall(retriever, creators, top, args.k)
        index = retriever.product_index
        versus_exact = index_recall(retriever, creators)
        print(
            f"  {name}: exact search {exact:.4f}, index ({index.kind_}, {index.codec}) {approx:.4f}; "
            f"index recall@{CANDIDATES} vs exact {versus_exact:.4f}, {index_bytes(index) / 2**20:,.0f} MiB"
        )


def with_codec(retriever: Retriever, codec: IvfCodec) -> Retriever:
    """``retriever`` with its product index rebuilt from the same vectors, scale and list count, lists of ``codec``."""
    index = retriever.product_index
    if index.kind_ != "ivf":
        raise SystemExit(f"the bundle's product index is {index.kind_!r}, not IVF: nothing to quantize")
    nlist = faiss.extract_index_ivf(index.index_).nlist
    started = time.perf_counter()
    rebuilt = VectorIndex(kind="ivf", nlist=nlist, nprobe=index.nprobe, seed=1, codec=codec)
    rebuilt.fit(np.asarray(index.vectors_), scale=index.scale_)
    print(f"{codec} lists built in {time.perf_counter() - started:.0f} s")
    return dataclasses.replace(retriever, product_index=rebuilt)


def index_recall(retriever: Retriever, creators: np.ndarray) -> float:
    """Mean share of the exact top 1,000 (over the same scaled vectors) that the product index returns."""
    index = retriever.product_index
    queries = np.vstack([retriever.base(Direction.CREATOR, int(c)) for c in creators])
    exact = VectorIndex(kind="flat").fit(np.asarray(index.vectors_), scale=index.scale_)
    _, found = index.search(queries, CANDIDATES)
    _, want = exact.search(queries, CANDIDATES)
    return float(np.mean([np.isin(w, f).mean() for f, w in zip(found, want, strict=True)]))


def index_bytes(index: VectorIndex) -> int:
    """Bytes of the index as FAISS writes it."""
    return int(faiss.serialize_index(index.index_).nbytes)


if __name__ == "__main__":
    main()
