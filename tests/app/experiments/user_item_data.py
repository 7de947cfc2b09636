"""Tiny seeded user–item data written in the shared data folder's file formats (RecBole atomic ml-100k files,
S3-Rec's Beauty.txt + attributes JSON), so the adapters run end to end on them in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

GENRES = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"]


def write_movielens(
    directory: Path, interactions: list[tuple[int, int, float, int]], n_users: int, n_items: int
) -> Path:
    """Write ml-100k.{inter,user,item} for (user_id, item_id, rating, timestamp) rows; ids start at 1."""
    folder = directory / "ml-100k"
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    lines += [f"{u}\t{i}\t{r:g}\t{t}" for u, i, r, t in interactions]
    (folder / "ml-100k.inter").write_text("\n".join(lines) + "\n")
    users = ["user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token"]
    users += [f"{u}\t{20 + u % 40}\t{'MF'[u % 2]}\t{['student', 'writer', 'other'][u % 3]}\t0000{u % 10}"
              for u in range(1, n_users + 1)]  # fmt: skip
    (folder / "ml-100k.user").write_text("\n".join(users) + "\n")
    items = ["item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"]
    items += [f"{i}\tMovie {i}\t{1990 + i % 8}\t{GENRES[i % len(GENRES)]}" for i in range(1, n_items + 1)]
    (folder / "ml-100k.item").write_text("\n".join(items) + "\n")
    return folder


def clustered_movielens(directory: Path, seed: int, n_users: int = 120, n_items: int = 120) -> Path:
    """Users each like one genre (items with id % 6 == genre): 85% of their ratings fall in it."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(1, n_users + 1):
        genre = u % len(GENRES)
        liked = np.array([i for i in range(1, n_items + 1) if i % len(GENRES) == genre])
        other = np.array([i for i in range(1, n_items + 1) if i % len(GENRES) != genre])
        n = int(rng.integers(20, 30))
        n_liked = min(liked.size, round(0.85 * n))
        chosen = np.concatenate(
            [rng.choice(liked, n_liked, replace=False), rng.choice(other, n - n_liked, replace=False)]
        )
        start = 880_000_000 + int(rng.integers(0, 10_000_000))
        for pos, item in enumerate(rng.permutation(chosen)):
            rows.append((u, int(item), float(rng.integers(1, 6)), start + 600 * pos))
    return write_movielens(directory, rows, n_users, n_items)


def write_beauty(directory: Path, sequences: list[list[int]], attributes: dict[int, list[int]]) -> Path:
    """Write Beauty.txt (``user item item ...``, user ids from 1) and Beauty_item2attributes.json."""
    folder = directory / "amazon_beauty"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [" ".join(map(str, [u, *seq])) for u, seq in enumerate(sequences, start=1)]
    (folder / "Beauty.txt").write_text("\n".join(lines) + "\n")
    (folder / "Beauty_item2attributes.json").write_text(json.dumps({str(k): v for k, v in attributes.items()}))
    return folder


def chained_beauty(directory: Path, seed: int, n_users: int = 300, n_items: int = 120) -> Path:
    """Items form chains of 10 (1 -> 2 -> ... -> 10, 11 -> ...); a user walks a chain from a random start and
    with probability 0.15 jumps to a random item. Attributes: the chain id (a 'brand') and a shared 'category'."""
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(n_users):
        item = int(rng.integers(1, n_items + 1))
        seq = [item]
        for _ in range(int(rng.integers(4, 10))):
            nxt = item + 1 if item % 10 else item - 9
            if rng.random() < 0.15:
                nxt = int(rng.integers(1, n_items + 1))
            if nxt in seq:
                break
            seq.append(nxt)
            item = nxt
        if len(seq) >= 3:
            sequences.append(seq)
    attributes = {i: [1 + (i - 1) // 10, 100] for i in range(1, n_items + 1)}
    return write_beauty(directory, sequences, attributes)
