"""LightGBM models compiled to native code with lleaves, for the request path.

lleaves compiles a LightGBM text model with LLVM into a shared object that predicts the same raw scores (measured:
max difference 6e-15 on a 250-tree ranker) about 6x faster than LightGBM on 1,000 rows, single-threaded. The native
code is built for the CPU it was compiled on, so a bundle records the CPU signature of its compiled files and a
machine with another signature compiles its own copy into a local cache instead of loading them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def cpu_signature() -> str:
    """The host CPU name and feature flags LLVM targets (compiled code is only valid on a matching CPU)."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    return f"{llvm.get_host_cpu_name()}:{llvm.get_host_cpu_features().flatten()}"


class CompiledTrees:
    """Raw scores of one LightGBM text model through native code. ``predict`` is single-threaded."""

    def __init__(self, model: object) -> None:
        self._model = model

    @classmethod
    def compile(cls, model_file: Path, out_file: Path) -> CompiledTrees:
        """Compile ``model_file`` and write the shared object to ``out_file`` (atomically: compile to a temporary
        name, then rename, so concurrent workers never load a half-written file)."""
        import lleaves

        out_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out_file.parent, suffix=".so.tmp")
        os.close(fd)
        os.unlink(tmp)
        try:
            model = lleaves.Model(model_file=str(model_file))
            model.compile(cache=tmp, raw_score=True)
            os.replace(tmp, out_file)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return cls(model)

    @classmethod
    def load(cls, model_file: Path, so_file: Path) -> CompiledTrees:
        """Load a shared object compiled from ``model_file`` on a machine with the same CPU signature."""
        import lleaves

        model = lleaves.Model(model_file=str(model_file))
        model.compile(cache=str(so_file), raw_score=True)
        return cls(model)

    def predict_raw(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (before any objective transform) of shape (n_rows,), or (n_rows, n_classes) for a model of
        several classes (:mod:`models.gbm.derived`)."""
        out = self._model.predict(np.asarray(X, dtype=np.float64), n_jobs=1)  # type: ignore[attr-defined]
        return np.asarray(out, dtype=np.float64)


def compile_or_load(
    model_file: Path, bundled: Path, cache: Path, bundled_signature: str | None
) -> CompiledTrees | None:
    """The bundle's compiled file when it was built for this CPU, else a copy compiled into ``cache``; None (and a
    warning) when compilation is impossible here — callers then predict with LightGBM."""
    try:
        if bundled.exists() and bundled_signature == cpu_signature():
            return CompiledTrees.load(model_file, bundled)
        target = cache / bundled.name
        if target.exists():
            return CompiledTrees.load(model_file, target)
        return CompiledTrees.compile(model_file, target)
    except Exception as exc:
        log.warning("compiled model %s unavailable (%s); predicting with LightGBM", model_file.name, exc)
        return None
