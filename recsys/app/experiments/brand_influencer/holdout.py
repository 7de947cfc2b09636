"""A rehearsal of the hidden test: hold brands out of a training directory, score them, measure the scores.

::

    python -m recsys.app.experiments.brand_influencer.holdout make --source DIR --out OUT [--brands 74] [--seed 0]
    recsys train --dataset brand-influencer:OUT/train --out ART
    recsys score --artifacts ART --dataset brand-influencer:OUT/test --out scores.csv
    python -m recsys.app.experiments.brand_influencer.holdout evaluate --scores scores.csv --labels OUT/test_labels.csv

``make`` writes ``OUT/train`` (the other brands, their pairs, every creator they use) and ``OUT/test`` (the held-out
brands, the creators of their pairs, ``candidates.csv`` = every held-out brand x every such creator, no pairs),
plus ``OUT/test_labels.csv`` (the held-out pairs). Creators shared with training brands stay in both, as on the
real test where most — not all — creators are unseen. Nothing is written next to the source.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.app.experiments.brand_influencer.data import BRAND_ARRAYS, CREATOR_ARRAYS, BrandDataError
from recsys.app.experiments.brand_influencer.evaluate import brand_metrics, fold_summary


def _write(out: Path, brands: pd.DataFrame, creators: pd.DataFrame, source: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    brands.assign(row=range(len(brands)))[["row", "brand", "category"]].to_csv(out / "brands.csv", index=False)
    creators.assign(row=range(len(creators)))[["row", "creator"]].to_csv(out / "creators.csv", index=False)
    for file, _ in BRAND_ARRAYS.values():
        np.save(out / file, np.load(source / file)[brands["row"].to_numpy()])
    for file, _ in CREATOR_ARRAYS.values():
        np.save(out / file, np.load(source / file)[creators["row"].to_numpy()])


def make_holdout(source: Path, out: Path, n_test_brands: int = 74, seed: int = 0) -> dict[str, int]:
    """Split ``source`` brand-disjointly into ``out/train`` and ``out/test`` (see the module docstring)."""
    source, out = Path(source), Path(out)
    if out.resolve() == source.resolve() or source.resolve() in out.resolve().parents:
        raise BrandDataError(f"--out {out} must not be inside the source folder {source}")
    brands = pd.read_csv(source / "brands.csv")
    creators = pd.read_csv(source / "creators.csv")
    pairs = pd.read_csv(source / "pairs.csv")
    if not 0 < n_test_brands < len(brands):
        raise BrandDataError(f"--brands must be between 1 and {len(brands) - 1}, got {n_test_brands}")
    chosen = np.sort(np.random.default_rng(seed).choice(len(brands), n_test_brands, replace=False))
    test_brands = brands.iloc[chosen]
    train_brands = brands.drop(index=brands.index[chosen])
    labels = pairs[pairs["brand"].isin(test_brands["brand"])]
    train_pairs = pairs[pairs["brand"].isin(train_brands["brand"])]
    test_creators = creators[creators["creator"].isin(labels["creator"])]
    only_test = set(labels["creator"]) - set(train_pairs["creator"])
    train_creators = creators[~creators["creator"].isin(only_test)]
    _write(out / "train", train_brands, train_creators, source)
    train_pairs.to_csv(out / "train" / "pairs.csv", index=False)
    _write(out / "test", test_brands, test_creators, source)
    grid = pd.MultiIndex.from_product([test_brands["brand"], test_creators["creator"]], names=["brand", "creator"])
    grid.to_frame(index=False).to_csv(out / "test" / "candidates.csv", index=False)
    labels[["brand", "creator"]].to_csv(out / "test_labels.csv", index=False)
    return {
        "train_brands": len(train_brands),
        "test_brands": len(test_brands),
        "test_creators": len(test_creators),
        "test_creators_seen_in_training": len(test_creators) - len(only_test),
        "candidates": len(grid),
        "held_out_pairs": len(labels),
    }


def evaluate_scores(scores_file: Path, labels_file: Path) -> dict[str, Any]:
    """R@k, MRR, MedR and AUC of a ``brand,creator,score`` file against held-out ``brand,creator`` labels."""
    scores = pd.read_csv(scores_file)
    labels = pd.read_csv(labels_file)
    matrix = scores.pivot_table(index="brand", columns="creator", values="score", aggfunc="first")
    relevant = np.zeros(matrix.shape, dtype=bool)
    b = matrix.index.get_indexer(pd.Index(labels["brand"]))
    c = matrix.columns.get_indexer(pd.Index(labels["creator"]))
    missing = int(((b < 0) | (c < 0)).sum())
    relevant[b[(b >= 0) & (c >= 0)], c[(b >= 0) & (c >= 0)]] = True
    values = matrix.to_numpy(dtype=np.float64, copy=True)
    values[np.isnan(values)] = -np.inf  # a pair that was not a candidate ranks last
    summary: dict[str, Any] = fold_summary(brand_metrics(values, relevant, list(matrix.index)))
    summary.update({"brands": int(matrix.shape[0]), "pool": int(matrix.shape[1]), "labels_not_scored": missing})
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m recsys.app.experiments.brand_influencer.holdout")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make", help="write OUT/train, OUT/test and OUT/test_labels.csv")
    make.add_argument("--source", type=Path, required=True)
    make.add_argument("--out", type=Path, required=True)
    make.add_argument("--brands", type=int, default=74)
    make.add_argument("--seed", type=int, default=0)
    evaluate = sub.add_parser("evaluate", help="metrics of a scores file against held-out labels")
    evaluate.add_argument("--scores", type=Path, required=True)
    evaluate.add_argument("--labels", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "make":
        result: dict[str, Any] = make_holdout(args.source, args.out, args.brands, args.seed)
    else:
        result = {
            k: round(v, 4) if isinstance(v, float) else v for k, v in evaluate_scores(args.scores, args.labels).items()
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
