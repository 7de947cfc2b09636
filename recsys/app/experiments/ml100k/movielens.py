"""MovieLens-100k in RecBole's atomic format: reading ``ml-100k.{inter,user,item}`` and RecBole's random split.

Files (tab-separated, header ``name:type``): ``ml-100k.inter`` (user_id, item_id, rating, timestamp),
``ml-100k.user`` (user_id, age, gender, occupation, zip_code), ``ml-100k.item`` (item_id, movie_title,
release_year, class = space-separated genres). Users and items become contiguous indices in sorted raw-id order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class MovieLens:
    """Interactions (one entry per row of ``ml-100k.inter``) and side information, by user / item index."""

    user_ids: np.ndarray  # (n_users,) raw user id of each index
    item_ids: np.ndarray  # (n_items,) raw item id of each index
    user: np.ndarray  # (n_rows,) int64 user index
    item: np.ndarray  # (n_rows,) int64 item index
    rating: np.ndarray  # (n_rows,) float32
    timestamp: np.ndarray  # (n_rows,) float64 seconds
    age: np.ndarray  # (n_users,) float32
    gender: np.ndarray  # (n_users,) float32, 1 = M
    occupation: np.ndarray  # (n_users,) int64 category code
    genres: np.ndarray  # (n_items, n_genres) bool
    genre_names: list[str]
    year: np.ndarray  # (n_items,) float32, NaN when unknown

    @property
    def n_users(self) -> int:
        return int(self.user_ids.size)

    @property
    def n_items(self) -> int:
        return int(self.item_ids.size)


def _read_atomic(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing (expected RecBole's atomic ml-100k files)")
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    frame.columns = [c.split(":")[0] for c in frame.columns]
    return frame


def _require(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")


def _numeric(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy())
    if bad.size:
        raise ValueError(f"{path}: row {bad[0] + 2}, field {column!r}: {frame[column].iloc[bad[0]]!r} is not a number")
    return values.to_numpy()


def load_movielens(directory: Path) -> MovieLens:
    """Read the three atomic files of ``directory`` (e.g. ``<shared data>/ml-100k``)."""
    inter_path, user_path, item_path = (directory / f"ml-100k.{s}" for s in ("inter", "user", "item"))
    inter, users, items = _read_atomic(inter_path), _read_atomic(user_path), _read_atomic(item_path)
    _require(inter, ["user_id", "item_id", "rating", "timestamp"], inter_path)
    _require(users, ["user_id", "age", "gender", "occupation"], user_path)
    _require(items, ["item_id", "release_year", "class"], item_path)
    user_ids = np.unique(inter["user_id"].to_numpy())
    item_ids = np.unique(inter["item_id"].to_numpy())
    users = users.drop_duplicates("user_id").set_index("user_id")
    items = items.drop_duplicates("item_id").set_index("item_id")
    for ids, table, path in ((user_ids, users, user_path), (item_ids, items, item_path)):
        absent = np.setdiff1d(ids, table.index.to_numpy())
        if absent.size:
            raise ValueError(f"{path}: no row for id {absent[0]!r}, which ml-100k.inter uses")
    users, items = users.loc[user_ids], items.loc[item_ids]
    genre_lists = [str(s).split() for s in items["class"]]
    genre_names = sorted({g for gs in genre_lists for g in gs})
    genres = np.array([[g in gs for g in genre_names] for gs in genre_lists], dtype=bool)
    return MovieLens(
        user_ids=user_ids,
        item_ids=item_ids,
        user=np.searchsorted(user_ids, inter["user_id"].to_numpy()).astype(np.int64),
        item=np.searchsorted(item_ids, inter["item_id"].to_numpy()).astype(np.int64),
        rating=_numeric(inter, "rating", inter_path).astype(np.float32),
        timestamp=_numeric(inter, "timestamp", inter_path).astype(np.float64),
        age=_numeric(users, "age", user_path).astype(np.float32),
        gender=(users["gender"].to_numpy() == "M").astype(np.float32),
        occupation=pd.Categorical(users["occupation"]).codes.astype(np.int64),
        genres=genres,
        genre_names=genre_names,
        year=pd.to_numeric(items["release_year"], errors="coerce").to_numpy(dtype=np.float32),
    )


def recbole_counts(total: int, ratios: tuple[float, float, float]) -> list[int]:
    """Sizes of a user's train/valid/test parts as RecBole's ``_calcu_split_ids`` computes them.

    Valid and test get ``int(ratio * total)`` each; a part whose share is below one interaction gets one, taken
    from train, while train keeps more than one.
    """
    counts = [int(r * total) for r in ratios]
    counts[0] = total - sum(counts[1:])
    for i in range(1, len(ratios)):
        if counts[0] <= 1:
            break
        if 0 < ratios[-i] * total < 1:
            counts[-i] += 1
            counts[0] -= 1
    return counts


@dataclass
class Split:
    """Interaction-row indices per user index: train / valid / test (each a list of n_users arrays)."""

    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray]


def random_split(user: np.ndarray, n_users: int, ratios: tuple[float, float, float], seed: int) -> Split:
    """RecBole's ``RS`` split grouped by user: shuffle each user's interactions (seeded), cut by ``ratios``."""
    rng = np.random.default_rng(seed)
    order = np.argsort(user, kind="stable")
    bounds = np.searchsorted(user[order], np.arange(n_users + 1))
    train, valid, test = [], [], []
    for u in range(n_users):
        rows = order[bounds[u] : bounds[u + 1]]
        rows = rows[rng.permutation(rows.size)]
        n_train, n_valid, _ = recbole_counts(rows.size, ratios)
        train.append(np.sort(rows[:n_train]))
        valid.append(np.sort(rows[n_train : n_train + n_valid]))
        test.append(np.sort(rows[n_train + n_valid :]))
    return Split(train, valid, test)


def holdout_within(
    rows: list[np.ndarray], share: float, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Split each user's ``rows`` into (kept, held out) with ``round(share * n)`` (at least 1) held out."""
    kept, held = [], []
    for r in rows:
        perm = r[rng.permutation(r.size)]
        n_held = max(1, round(share * r.size)) if r.size > 1 else 0
        held.append(np.sort(perm[:n_held]))
        kept.append(np.sort(perm[n_held:]))
    return kept, held
