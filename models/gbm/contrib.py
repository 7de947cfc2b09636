"""Fast per-feature contributions of a LightGBM model: path attributions (Saabas, "treeinterpreter").

Along each row's decision path through each tree, the change of the node's value at every split is credited to the
split's feature; the trees' root values form the bias (LightGBM's gradient-based root values, not SHAP's
cover-weighted base value). Per row, bias + sum of contributions equals the model's raw score exactly, like SHAP's;
unlike TreeSHAP (LightGBM's ``pred_contrib``, O(leaves x depth^2) per tree) this costs O(depth) per tree, which is
what lets every recommendation on the request path carry its reasons. Attributions can differ from SHAP values for
strongly interacting features; they are used to *choose the reasons to show*, not as a fairness audit.

LightGBM itself decides the paths: :meth:`PathAttribution.contributions` takes each row's leaf per tree
(``Booster.predict(..., pred_leaf=True)``) and adds the stored steps of those leaves' paths — one gather and one
bincount, so no split rule (NaN, zero-as-missing, categorical bitsets) is re-implemented here. Measured on the
1M-product bench ranker (348 trees, 50 rows): 1.5 ms, against 5.0 ms for walking the trees in numpy and ~35 ms
for ``pred_contrib``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from recsys.core.atomic import save_npz


@dataclass
class PathAttribution:
    """Per leaf (LightGBM's leaf numbering, offset per tree) the (feature, value change) steps of its path."""

    leaf_offset: np.ndarray  # int64 (trees,): global id of each tree's leaf 0
    path_ptr: np.ndarray  # int64 (global leaves + 1,): CSR pointers into path_feature / path_delta
    path_feature: np.ndarray  # int32
    path_delta: np.ndarray  # float64
    bias: float  # sum of the trees' root values
    n_features: int

    @classmethod
    def from_booster(cls, booster: lgb.Booster, num_iteration: int | None = None) -> PathAttribution:
        dump = booster.dump_model(num_iteration=num_iteration)
        trees = [t["tree_structure"] for t in dump["tree_info"]]
        paths = [_leaf_paths(tree) for tree in trees]
        steps = [p[leaf] for p in paths for leaf in range(len(p))]
        counts = np.array([len(p) for p in paths], dtype=np.int64)
        return cls(
            leaf_offset=np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64),
            path_ptr=np.r_[0, np.cumsum([len(x) for x in steps])].astype(np.int64),
            path_feature=np.array([f for x in steps for f, _ in x], dtype=np.int32),
            path_delta=np.array([d for x in steps for _, d in x], dtype=np.float64),
            bias=float(sum(_value(tree) for tree in trees)),
            n_features=int(dump["max_feature_idx"]) + 1,
        )

    def save(self, path: Path) -> None:
        """The arrays in one ``.npz`` (no pickle), written aside and renamed into place."""
        arrays = {name: getattr(self, name) for name in ("leaf_offset", "path_ptr", "path_feature", "path_delta")}
        save_npz(path, {**arrays, "scalars": np.array([self.bias, self.n_features], dtype=np.float64)})

    @classmethod
    def load(cls, path: Path) -> PathAttribution:
        """Arrays saved by :meth:`save` (raises OSError / ValueError / KeyError when the file is not one)."""
        with np.load(path, allow_pickle=False) as data:
            bias, n_features = data["scalars"].tolist()
            return cls(
                data["leaf_offset"], data["path_ptr"], data["path_feature"], data["path_delta"], bias, int(n_features)
            )

    def contributions(self, leaves: np.ndarray) -> np.ndarray:
        """(n_rows, n_features + 1): per-feature contributions, last column the bias; rows sum to the raw score.

        ``leaves`` is LightGBM's ``pred_leaf`` output for the rows, shape (n_rows, n_trees).
        """
        leaves = np.asarray(leaves, dtype=np.int64).reshape(-1, len(self.leaf_offset))
        n_rows, width = leaves.shape[0], self.n_features + 1
        out = np.zeros((n_rows, width))
        out[:, -1] = self.bias
        if n_rows == 0 or self.path_feature.size == 0:
            return out
        g = (leaves + self.leaf_offset).ravel()
        starts, counts = self.path_ptr[g], self.path_ptr[g + 1] - self.path_ptr[g]
        step = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts - starts, counts)
        row = np.repeat(np.repeat(np.arange(n_rows), leaves.shape[1]), counts)
        flat = np.bincount(row * width + self.path_feature[step], weights=self.path_delta[step], minlength=out.size)
        out[:, :-1] = flat.reshape(n_rows, width)[:, :-1]
        return out

    def grouped(self, weights: np.ndarray) -> GroupedAttribution:
        """The attributions summed over groups of features (``weights``: (n_features, n_groups), e.g. 0/1 for the
        features behind each reason), precomputed per leaf: a page then needs one gather per (row, tree) of
        ``n_groups`` values instead of the per-feature matrix."""
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape[0] != self.n_features:
            raise ValueError(f"weights have {weights.shape[0]} rows, the model has {self.n_features} features")
        n_leaves = len(self.path_ptr) - 1
        leaf_of_step = np.repeat(np.arange(n_leaves), np.diff(self.path_ptr))
        per_step = self.path_delta[:, None] * weights[self.path_feature]  # (steps, groups)
        sums = np.zeros((n_leaves, weights.shape[1]))
        for g in range(weights.shape[1]):
            sums[:, g] = np.bincount(leaf_of_step, weights=per_step[:, g], minlength=n_leaves)
        return GroupedAttribution(self.leaf_offset, sums)


@dataclass(frozen=True)
class GroupedAttribution:
    """Per global leaf, the path attributions summed per group of features (:meth:`PathAttribution.grouped`)."""

    leaf_offset: np.ndarray  # int64 (trees,)
    leaf_sums: np.ndarray  # float64 (global leaves, n_groups)

    def sums(self, leaves: np.ndarray) -> np.ndarray:
        """(n_rows, n_groups): ``contributions(leaves)[:, :-1] @ weights``, from LightGBM's ``pred_leaf`` output."""
        leaves = np.asarray(leaves, dtype=np.int64).reshape(-1, len(self.leaf_offset))
        n_rows, n_trees = leaves.shape
        rows = np.take(self.leaf_sums, (leaves + self.leaf_offset).ravel(), axis=0)  # take: ~5x faster than [...]
        # the sum over trees as a batched product with ones: 2x faster than .sum(axis=1) over the middle axis
        return (np.ones((1, n_trees)) @ rows.reshape(n_rows, n_trees, self.leaf_sums.shape[1]))[:, 0, :]


def _value(node: dict[str, Any]) -> float:
    return float(node["leaf_value"] if "leaf_value" in node else node["internal_value"])


def _leaf_paths(tree: dict[str, Any]) -> list[list[tuple[int, float]]]:
    """Per LightGBM leaf index, the (split feature, child value - node value) steps from the root to that leaf."""
    paths: dict[int, list[tuple[int, float]]] = {}
    stack: list[tuple[dict[str, Any], list[tuple[int, float]]]] = [(tree, [])]
    while stack:
        node, path = stack.pop()
        if "leaf_value" in node:
            paths[int(node.get("leaf_index", 0))] = path
            continue
        for child in (node["left_child"], node["right_child"]):
            stack.append((child, [*path, (int(node["split_feature"]), _value(child) - _value(node))]))
    return [paths[i] for i in range(len(paths))]
