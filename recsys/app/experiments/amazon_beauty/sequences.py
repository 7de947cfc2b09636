"""Amazon-Beauty (S3-Rec release): reading the sequences and attributes, leave-one-out views, sequence statistics.

``Beauty.txt`` holds one user a line, ``user_id item_1 item_2 ...`` in time order; ``Beauty_item2attributes.json``
maps an item id to its attribute ids (brand and category ids, names not released). Items become contiguous
indices in sorted raw-id order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp


@dataclass
class Sequences:
    """Users' item sequences (item indices, oldest first) and the item x attribute matrix."""

    user_ids: np.ndarray  # (n_users,) raw user ids
    item_ids: np.ndarray  # (n_items,) raw item ids
    sequences: list[np.ndarray]
    attributes: sp.csr_matrix  # (n_items, n_attributes) binary float32

    @property
    def n_users(self) -> int:
        return len(self.sequences)

    @property
    def n_items(self) -> int:
        return int(self.item_ids.size)


def _parse_line(line: str, number: int, path: Path) -> tuple[int, list[int]]:
    fields = line.split()
    try:
        values = [int(f) for f in fields]
    except ValueError as exc:
        raise ValueError(f"{path}: line {number}: every field must be an integer id ({exc})") from exc
    if len(values) < 2:
        raise ValueError(f"{path}: line {number}: expected 'user_id item_1 item_2 ...', got {line.strip()!r}")
    return values[0], values[1:]


def load_beauty(directory: Path) -> Sequences:
    """Read ``Beauty.txt`` and ``Beauty_item2attributes.json`` from ``directory``."""
    seq_path, attr_path = directory / "Beauty.txt", directory / "Beauty_item2attributes.json"
    for path in (seq_path, attr_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing (expected the S3-Rec Amazon-Beauty release)")
    users, raw = [], []
    with seq_path.open() as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                user, items = _parse_line(line, number, seq_path)
                users.append(user)
                raw.append(np.asarray(items, dtype=np.int64))
    item_ids = np.unique(np.concatenate(raw))
    mapping = json.loads(attr_path.read_text())
    rows, cols = [], []
    for key, attrs in mapping.items():
        pos = np.searchsorted(item_ids, int(key))
        if pos < item_ids.size and item_ids[pos] == int(key):
            rows += [pos] * len(attrs)
            cols += [int(a) for a in attrs]
    n_attr = max(cols, default=-1) + 1
    attributes = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(item_ids.size, max(n_attr, 1)), dtype=np.float32
    )
    attributes.data[:] = 1.0
    return Sequences(
        user_ids=np.asarray(users, dtype=np.int64),
        item_ids=item_ids,
        sequences=[np.searchsorted(item_ids, s) for s in raw],
        attributes=attributes,
    )


@dataclass
class LeaveOneOut:
    """One leave-one-out view: for each evaluated user, the input history and the held-out target."""

    users: np.ndarray  # (n,) user indices
    histories: list[np.ndarray]  # input sequences, oldest first
    targets: np.ndarray  # (n,) item index


def leave_one_out(sequences: list[np.ndarray], stage: Literal["valid", "test"]) -> LeaveOneOut:
    """S3-Rec's split: test target = last item with history = all before it; valid target = second last with
    history = all before that. Users with fewer than 3 items have no train/valid/test triple and are skipped."""
    return holdout_view(sequences, 1 if stage == "test" else 2)


def holdout_view(sequences: list[np.ndarray], from_end: int) -> LeaveOneOut:
    """Target = the ``from_end``-th item from the end (1 = last), history = every item before it. Users need at
    least ``max(3, from_end + 1)`` items (a non-empty history and the train/valid/test triple)."""
    if from_end < 1:
        raise ValueError(f"from_end must be >= 1, got {from_end}")
    need = max(3, from_end + 1)
    users = np.array([u for u, s in enumerate(sequences) if s.size >= need], dtype=np.int64)
    histories = [sequences[u][:-from_end] for u in users]
    targets = np.array([sequences[u][-from_end] for u in users], dtype=np.int64)
    return LeaveOneOut(users, histories, targets)


def transition_matrix(histories: list[np.ndarray], n_items: int, max_gap: int = 1) -> sp.csr_matrix:
    """Directed item -> later-item counts within ``max_gap`` positions (weight 1/gap); (n_items, n_items)."""
    rows, cols, vals = [], [], []
    for seq in histories:
        for gap in range(1, min(max_gap, seq.size - 1) + 1):
            rows.append(seq[:-gap])
            cols.append(seq[gap:])
            vals.append(np.full(seq.size - gap, 1.0 / gap, dtype=np.float32))
    if not rows:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_items, n_items)
    ).astype(np.float32)


def recency_matrix(histories: list[np.ndarray], n_items: int, last: int | None, decay: float) -> sp.csr_matrix:
    """(n_histories, n_items): weight ``decay**j`` on the j-th most recent item (j = 0 for the last one), over
    the ``last`` most recent items (all if None); an item seen twice keeps its most recent weight."""
    rows, cols, vals = [], [], []
    for r, seq in enumerate(histories):
        recent = seq[::-1] if last is None else seq[::-1][:last]
        _, first = np.unique(recent, return_index=True)
        rows.append(np.full(first.size, r))
        cols.append(recent[first])
        vals.append(decay ** first.astype(np.float32))
    if not rows:
        return sp.csr_matrix((0, n_items), dtype=np.float32)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(len(histories), n_items)
    ).astype(np.float32)


def last_items(histories: list[np.ndarray], depth: int) -> np.ndarray:
    """(n_histories, depth) item index of the j-th most recent item (column 0 = last), -1 where too short."""
    out = np.full((len(histories), depth), -1, dtype=np.int64)
    for r, seq in enumerate(histories):
        recent = seq[::-1][:depth]
        out[r, : recent.size] = recent
    return out


def sample_pairs(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix[rows[i], cols[i]]`` for every i as float32 (0 where a row index is -1)."""
    out = np.zeros(rows.size, dtype=np.float32)
    ok = rows >= 0
    if ok.any():
        out[ok] = np.asarray(matrix[rows[ok], cols[ok]]).ravel()
    return out


def row_overlap(left: sp.csr_matrix, right: sp.csr_matrix, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products ``left[a[i]] . right[b[i]]`` (0 where an index is -1); float32 of shape (n,)."""
    out = np.zeros(a.size, dtype=np.float32)
    ok = (a >= 0) & (b >= 0)
    if ok.any():
        out[ok] = np.asarray(left[a[ok]].multiply(right[b[ok]]).sum(axis=1)).ravel()
    return out


@dataclass
class TripleCounts:
    """How often items (a, b, c) appeared consecutively in the histories: sorted int64 keys and their counts."""

    n_items: int
    keys: np.ndarray  # (n_triples,) sorted (a * n + b) * n + c
    counts: np.ndarray  # (n_triples,) float32

    def lookup(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Count of each (a[i], b[i], c[i]) as float32 (0 where unseen or an index is -1)."""
        out = np.zeros(c.size, dtype=np.float32)
        ok = (a >= 0) & (b >= 0) & (c >= 0)
        if not ok.any() or self.keys.size == 0:
            return out
        n = np.int64(self.n_items)
        wanted = (a[ok].astype(np.int64) * n + b[ok]) * n + c[ok]
        pos = np.minimum(np.searchsorted(self.keys, wanted), self.keys.size - 1)
        out[ok] = np.where(self.keys[pos] == wanted, self.counts[pos], 0.0)
        return out


def triple_counts(histories: list[np.ndarray], n_items: int) -> TripleCounts:
    """Second-order transitions: counts of every consecutive triple (a, b, c) in ``histories``."""
    n = np.int64(n_items)
    parts = [(s[:-2].astype(np.int64) * n + s[1:-1]) * n + s[2:] for s in histories if s.size > 2]
    if not parts:
        return TripleCounts(n_items, np.empty(0, np.int64), np.empty(0, np.float32))
    keys, counts = np.unique(np.concatenate(parts), return_counts=True)
    return TripleCounts(n_items, keys, counts.astype(np.float32))
