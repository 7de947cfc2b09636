"""Read and validate a brand-influencer directory (the layout of ``shared/data/brand_influencer/train``).

::

    brands.csv        row, brand, category           (row = 0..n-1, aligned with the brand_*.npy rows)
    creators.csv      row, creator                   (aligned with the creator_*.npy rows)
    pairs.csv         brand, creator, competence_score, rank_in_brand   (training only)
    candidates.csv    brand, creator                 (scoring only)
    brand_text_lda19.npy (n_brands, 19)   brand_hashtag_n2v128.npy (n_brands, 128)
    brand_image1365.npy (n_brands, 1365)
    creator_text_lda19.npy (n_creators, 19)   creator_hashtag_n2v128.npy (n_creators, 128)

Every problem raises :class:`BrandDataError` naming the file, the row and the field.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

LDA_DIM, HASHTAG_DIM, IMAGE_DIM = 19, 128, 1365
BRAND_ARRAYS = {
    "lda": ("brand_text_lda19.npy", LDA_DIM),
    "hashtag": ("brand_hashtag_n2v128.npy", HASHTAG_DIM),
    "image": ("brand_image1365.npy", IMAGE_DIM),
}
CREATOR_ARRAYS = {"lda": ("creator_text_lda19.npy", LDA_DIM), "hashtag": ("creator_hashtag_n2v128.npy", HASHTAG_DIM)}


class BrandDataError(ValueError):
    """A brand-influencer directory that cannot be used as it is (the message says file, row, field, reason)."""


@dataclass(frozen=True)
class Brands:
    """Brands and their content features, row-aligned. ids, category : (n,); lda (n, 19); hashtag (n, 128);
    image (n, 1365)."""

    ids: np.ndarray
    category: np.ndarray
    lda: np.ndarray
    hashtag: np.ndarray
    image: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: np.ndarray) -> Brands:
        return Brands(self.ids[rows], self.category[rows], self.lda[rows], self.hashtag[rows], self.image[rows])


@dataclass(frozen=True)
class Creators:
    """Creators and their content features, row-aligned. ids : (n,); lda (n, 19); hashtag (n, 128)."""

    ids: np.ndarray
    lda: np.ndarray
    hashtag: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: np.ndarray) -> Creators:
        return Creators(self.ids[rows], self.lda[rows], self.hashtag[rows])


@dataclass(frozen=True)
class BrandInfluencerData:
    """A loaded directory. ``pairs`` has integer columns ``brand_row``, ``creator_row`` (into brands / creators)
    plus ``rank_in_brand``; it is None for a scoring directory."""

    path: Path
    brands: Brands
    creators: Creators
    pairs: pd.DataFrame | None

    def positives_of(self, brand_rows: np.ndarray) -> pd.DataFrame:
        """The pairs of the given brands."""
        if self.pairs is None:
            raise BrandDataError(f"{self.path}: no pairs.csv, so there are no positives to use")
        return self.pairs[self.pairs["brand_row"].isin(brand_rows)]


def _require(path: Path) -> Path:
    if not path.is_file():
        raise BrandDataError(f"missing file {path}")
    return path


def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    frame = pd.read_csv(_require(path), dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BrandDataError(f"{path.name}: missing column(s) {missing}; found {list(frame.columns)}")
    for col in columns:
        empty = np.flatnonzero(frame[col].str.strip() == "")
        if empty.size:
            raise BrandDataError(f"{path.name} row {int(empty[0])}: field {col!r} is empty")
    return frame


def _check_row_column(frame: pd.DataFrame, name: str) -> None:
    rows = pd.to_numeric(frame["row"], errors="coerce").to_numpy()
    bad = np.flatnonzero(rows != np.arange(len(frame)))
    if bad.size:
        i = int(bad[0])
        raise BrandDataError(
            f"{name} row {i}: field 'row' is {frame['row'].iloc[i]!r}, expected {i} "
            "(rows must be 0..n-1 in order, aligned with the .npy feature rows)"
        )


def _check_unique(values: pd.Series, name: str, field: str) -> None:
    dup = values.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise BrandDataError(f"{name} row {i}: {field} {values.iloc[i]!r} appears more than once")


def _load_array(directory: Path, file: str, n_rows: int, dim: int, table: str) -> np.ndarray:
    path = _require(directory / file)
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise BrandDataError(f"{file}: not a plain numeric .npy array ({exc})") from exc
    if array.ndim != 2 or array.shape[1] != dim:
        raise BrandDataError(f"{file}: shape {array.shape}, expected ({n_rows}, {dim})")
    if array.shape[0] != n_rows:
        raise BrandDataError(
            f"{file} has {array.shape[0]} rows but {table} has {n_rows}: the feature rows must align with it"
        )
    if not np.issubdtype(array.dtype, np.number):
        raise BrandDataError(f"{file}: dtype {array.dtype} is not numeric")
    bad = ~np.isfinite(array)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise BrandDataError(f"{file} row {row}: column {col} is not finite ({array[row, col]})")
    return np.ascontiguousarray(array, dtype=np.float32)


def load_brands(directory: Path) -> Brands:
    frame = _read_csv(directory / "brands.csv", ["row", "brand", "category"])
    _check_row_column(frame, "brands.csv")
    _check_unique(frame["brand"], "brands.csv", "brand")
    arrays = {k: _load_array(directory, f, len(frame), d, "brands.csv") for k, (f, d) in BRAND_ARRAYS.items()}
    return Brands(
        frame["brand"].to_numpy(dtype=object),
        frame["category"].str.strip().str.lower().to_numpy(dtype=object),
        arrays["lda"],
        arrays["hashtag"],
        arrays["image"],
    )


def load_creators(directory: Path) -> Creators:
    frame = _read_csv(directory / "creators.csv", ["row", "creator"])
    _check_row_column(frame, "creators.csv")
    _check_unique(frame["creator"], "creators.csv", "creator")
    arrays = {k: _load_array(directory, f, len(frame), d, "creators.csv") for k, (f, d) in CREATOR_ARRAYS.items()}
    return Creators(frame["creator"].to_numpy(dtype=object), arrays["lda"], arrays["hashtag"])


def _map_ids(values: pd.Series, ids: np.ndarray, file: str, field: str, table: str) -> np.ndarray:
    index = pd.Index(ids)
    rows = index.get_indexer(values.to_numpy())
    unknown = np.flatnonzero(rows < 0)
    if unknown.size:
        i = int(unknown[0])
        raise BrandDataError(
            f"{file} row {i}: {field} {values.iloc[i]!r} is not in {table} "
            f"({unknown.size} row(s) of {file} name an unknown {field})"
        )
    return rows.astype(np.int64)


def load_pairs(directory: Path, brands: Brands, creators: Creators) -> pd.DataFrame:
    frame = _read_csv(directory / "pairs.csv", ["brand", "creator"])
    out = pd.DataFrame(
        {
            "brand_row": _map_ids(frame["brand"], brands.ids, "pairs.csv", "brand", "brands.csv"),
            "creator_row": _map_ids(frame["creator"], creators.ids, "pairs.csv", "creator", "creators.csv"),
        }
    )
    if "rank_in_brand" in frame.columns:
        rank = pd.to_numeric(frame["rank_in_brand"], errors="coerce")
        if rank.isna().any():
            i = int(np.flatnonzero(rank.isna().to_numpy())[0])
            raise BrandDataError(f"pairs.csv row {i}: rank_in_brand {frame['rank_in_brand'].iloc[i]!r} is not a number")
        out["rank_in_brand"] = rank.to_numpy()
    else:
        out["rank_in_brand"] = 1.0
    dup = out.duplicated(["brand_row", "creator_row"]).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise BrandDataError(f"pairs.csv row {i}: pair ({frame['brand'].iloc[i]}, {frame['creator'].iloc[i]}) repeats")
    return out


def load_directory(directory: Path, with_pairs: bool = True) -> BrandInfluencerData:
    """Load and validate ``directory``; ``with_pairs`` requires (True) or ignores (False) ``pairs.csv``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BrandDataError(f"{directory} is not a directory")
    brands = load_brands(directory)
    creators = load_creators(directory)
    pairs = load_pairs(directory, brands, creators) if with_pairs else None
    return BrandInfluencerData(directory, brands, creators, pairs)


def load_candidates(directory: Path, brands: Brands, creators: Creators) -> pd.DataFrame:
    """``candidates.csv`` as (brand, creator, brand_row, creator_row), in file order."""
    frame = _read_csv(directory / "candidates.csv", ["brand", "creator"])
    if frame.empty:
        raise BrandDataError(f"{directory / 'candidates.csv'} has no rows")
    return pd.DataFrame(
        {
            "brand": frame["brand"].to_numpy(),
            "creator": frame["creator"].to_numpy(),
            "brand_row": _map_ids(frame["brand"], brands.ids, "candidates.csv", "brand", "brands.csv"),
            "creator_row": _map_ids(frame["creator"], creators.ids, "candidates.csv", "creator", "creators.csv"),
        }
    )


def directory_hash(directory: Path) -> str:
    """sha256 over the names and bytes of the directory's csv and npy files (sorted by name)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(directory).iterdir() if p.suffix in {".csv", ".npy"} and p.is_file()):
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
