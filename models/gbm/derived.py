"""Native code for what the request path asks of a tree model besides its score: the leaf each row reaches in every
tree (LightGBM's ``pred_leaf``, which the page's reasons start from) and the raw score of a range of trees (the
ranker's cascade, :mod:`models.matching.scoring`).

Both are LightGBM text models derived from the bundle's model and compiled with lleaves like it
(:mod:`models.gbm.compiled`); the split rules stay LightGBM's, as its text model states them.

- **Leaf indices.** lleaves compiles multiclass models: tree ``t`` adds its leaf's value to class ``t mod K``. A
  model of ``K`` consecutive trees, one class each, whose leaf values are the leaves' own indices predicts per row
  the leaf reached in each of those trees — exactly ``pred_leaf``. The trees go in chunks of ``LEAF_CHUNK`` classes:
  one class per tree over all 502 trees of the 1M bench's product ranker took 84 s to compile and ran no faster
  than LightGBM (each row keeps 502 running sums); chunks of 64 compile in ~15 s and give a page's 50 rows their
  leaves in 0.46 ms against LightGBM's 0.94 (bench/PROFILE.md).
- **Tree ranges.** Trees ``[start, stop)`` as a model of their own: a row's raw score is the sum of its ranges'.

Derived models are a cache: each is kept in a folder under a digest of its text and the CPU signature (text and
shared object), compiled once per kind of CPU, written aside and renamed, so concurrent processes never load half a
file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.gbm.compiled import CompiledTrees, cpu_signature

LEAF_CHUNK = 64  # trees per compiled leaf-index model (see the module docstring)

_TREE = re.compile(r"(?m)^(?=Tree=\d+$)")


@dataclass(frozen=True)
class ModelText:
    """A LightGBM text model cut into its header, one block per tree and the trailer from ``end of trees`` on."""

    header: str
    trees: list[str]
    trailer: str

    @classmethod
    def parse(cls, text: str) -> ModelText:
        body, sep, trailer = text.partition("end of trees")
        if not sep:
            raise ValueError("not a LightGBM text model: no 'end of trees' line")
        header, *trees = _TREE.split(body)
        if _field(header, "num_tree_per_iteration") != "1":
            raise ValueError("only models of one tree per iteration (regression, ranking, binary) are derived")
        if len(trees) != len(_field(header, "tree_sizes").split()):
            raise ValueError("the model's tree_sizes do not match its trees")
        return cls(header, trees, sep + trailer)

    def model(self, trees: list[str], classes: int = 1) -> str:
        """A model of ``trees`` (blocks of this one, renumbered) with ``classes`` trees per iteration."""
        header = _set(self.header, "num_class", str(classes))
        header = _set(header, "num_tree_per_iteration", str(classes))
        header = _set(header, "tree_sizes", " ".join(str(len(t)) for t in trees))
        blocks = [re.sub(r"^Tree=\d+", f"Tree={i}", t, count=1) for i, t in enumerate(trees)]
        return header + "".join(blocks) + self.trailer

    def tree_range(self, start: int, stop: int) -> str:
        """Trees ``[start, stop)`` as a model: its raw score is their part of this model's."""
        if not 0 <= start < stop <= len(self.trees):
            raise ValueError(f"tree range [{start}, {stop}) is not within the model's {len(self.trees)} trees")
        return self.model(self.trees[start:stop])

    def leaf_indices(self, start: int, stop: int) -> str:
        """Trees ``[start, stop)`` as one class each, every leaf valued at its own index: the model predicts, per
        row, the leaf reached in each tree (LightGBM's ``pred_leaf``)."""
        trees = [re.sub(r"(?m)^leaf_value=(.*)$", _indices, t) for t in self.trees[start:stop]]
        return self.model(trees, classes=len(trees))


def _field(header: str, name: str) -> str:
    found = re.search(rf"(?m)^{name}=(.*)$", header)
    if found is None:
        raise ValueError(f"not a LightGBM text model: no {name} line")
    return found.group(1)


def _set(header: str, name: str, value: str) -> str:
    return re.sub(rf"(?m)^{name}=.*$", f"{name}={value}", header, count=1)


def _indices(match: re.Match[str]) -> str:
    return "leaf_value=" + " ".join(str(i) for i in range(len(match.group(1).split())))


def compiled_text(text: str, cache: Path) -> CompiledTrees:
    """``text`` compiled (or loaded, when a machine with this CPU compiled it before) from ``cache``, kept under a
    digest of the text and the CPU signature (native code is valid only on the CPU it was built for; a cache on a
    shared disk may serve several)."""
    cache.mkdir(parents=True, exist_ok=True)
    name = hashlib.blake2b(f"{cpu_signature()}\n{text}".encode(), digest_size=12).hexdigest()
    model_file, so_file = cache / f"{name}.txt", cache / f"{name}.so"
    if not model_file.exists():
        fd, tmp = tempfile.mkstemp(dir=cache, suffix=".txt.tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # as readable as the compiled file next to it
        os.replace(tmp, model_file)
    if so_file.exists():
        return CompiledTrees.load(model_file, so_file)
    return CompiledTrees.compile(model_file, so_file)


class NativeLeaves:
    """LightGBM's ``pred_leaf`` through compiled leaf-index models (see the module docstring)."""

    def __init__(self, parts: list[CompiledTrees], n_trees: int) -> None:
        self.parts = parts
        self.n_trees = n_trees

    @classmethod
    def build(cls, model_file: Path, cache: Path, chunk: int = LEAF_CHUNK) -> NativeLeaves:
        model = ModelText.parse(model_file.read_text())
        n = len(model.trees)
        parts = [compiled_text(model.leaf_indices(s, min(s + chunk, n)), cache) for s in range(0, n, chunk)]
        return cls(parts, n)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n_rows, n_trees) int32: the leaf each row reaches in each tree."""
        X = np.asarray(X, dtype=np.float64)
        out = [part.predict_raw(X).reshape(len(X), -1) for part in self.parts]
        return np.rint(np.hstack(out)).astype(np.int32)
