"""The serving market from a columnar snapshot plus the store rows written since (issue 20, item 2).

A worker's state needs the store's merchants, products, creators and plans, and the recent promotions
(:func:`serving.state.load_serving_market`). At 1M products that is 2.3M rows read as Python objects through the
database driver: most of a worker's start, and of every re-assembly after an entity is onboarded. The rows carry
the revision that wrote them, and rows are never deleted, so the market at revision ``r`` is the market at an
earlier revision ``r0`` with every row written after ``r0`` put in place of the one of the same key (or added).
:class:`MarketSnapshots` keeps the market at some ``r0`` as Arrow IPC files (one per table, uncompressed,
memory-mapped when read) under ``<artifacts>/.market/<r0>-<store instance>/`` and reads only the rows written after
``r0`` from the store.

Exactness: a table read this way equals the full read (tested frame by frame, and list by list through the matcher).
Columns of strings, numbers, times and booleans are stored as Arrow columns; any other column (JSON lists such as
a plan's ``creator_ids`` or ``tiers``, optional integers, the JSON extras) is stored as one JSON text per value —
it came from JSON in the store, so it round-trips — and decoded again on read (None stays None, NaN stays NaN),
each distinct text once: rows with equal texts share one decoded value, which readers must not change in place
(decoding 4.7M plan cells one by one took 19 s at 1M products). No pickle.

When a snapshot is written:

- a start without a usable one reads the store in full (as before) and writes one at the revision it read;
- a start with one reads it plus the rows written since; when those are more than ``serving.market_snapshot_rewrite``
  of its rows, it writes a new one at the newer revision.

A snapshot is used only if it was written for this store (the store's instance number, drawn once when its schema is
created, so a store recreated at the same path is never confused with the old one), at a revision not after the
store's, with the same format and columns, and its promotions reach back to the start the caller needs. Folders
appear whole (written under a temporary name, then renamed); the two newest are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from recsys.core.content_keys import name_content
from recsys.core.schema import CAPACITY_COLUMNS, REVISION_COLUMN, SA_TABLES, TABLES, Marketplace
from recsys.core.store import Store, records_to_frame

log = logging.getLogger("recsys.serving")

FORMAT = 1
KEEP = 2
"""Snapshots kept (the newest); a worker reading an older one has copied it into memory already."""
MARKET_DIR = ".market"
SERVING_TABLES = ("merchants", "products", "creators", "plans")
"""What the matcher needs from the store (promotions and orders reach it through the bundle's features)."""
RECENT_PROMOTION_COLUMNS = ("creator_id", "product_id", "started_at")
"""What the market state reads of the recent promotions (``models.matching.market``)."""
_PROMOTION_KEY = "promotion_id"
_NATIVE_KINDS = ("string", "empty", "floating", "integer", "boolean", "datetime64", "datetime")


@dataclass(frozen=True)
class SnapshotInfo:
    """What a snapshot folder holds: the store revision and instance it was read at, the start of its promotions,
    and each table's columns and rows."""

    path: Path
    revision: int
    instance: int
    promotions_since: datetime
    columns: dict[str, list[str]]
    json_columns: dict[str, list[str]]
    rows: dict[str, int]

    @classmethod
    def read(cls, path: Path) -> SnapshotInfo | None:
        try:
            meta = json.loads((path / "snapshot.json").read_text())
            if meta.get("format") != FORMAT:
                return None
            return cls(
                path,
                int(meta["revision"]),
                int(meta["instance"]),
                datetime.fromisoformat(meta["promotions_since"]),
                meta["columns"],
                meta["json_columns"],
                meta["rows"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class MarketRead:
    """A serving market as of ``revision`` and how it was read: ``"store"`` (in full), ``"snapshot"`` (a snapshot
    plus ``delta_rows`` rows written since); ``written``: the snapshot this read wrote, if any."""

    market: Marketplace
    revision: int
    source: str
    delta_rows: int = 0
    seconds: float = 0.0
    written: Path | None = None


def read_store_market(store: Store, promotions_since: datetime | None) -> Marketplace:
    """Merchants, products, creators and plans in one consistent read, with the promotions started since
    ``promotions_since`` (key included); extra columns left out but for the capacity columns."""
    with store.engine.connect() as conn, conn.begin():
        frames = {name: store.read_table(name, conn, extras=CAPACITY_COLUMNS.get(name, ())) for name in SERVING_TABLES}
        if promotions_since is not None:
            frames["promotions"] = promotion_rows(store, conn, started_since=promotions_since)
    for name in TABLES:
        frames.setdefault(name, records_to_frame(TABLES[name], []))
    return Marketplace(**frames)


class MarketSnapshots:
    """The snapshots of one store's serving market under ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path, store: Store, rewrite_share: float = 0.05) -> None:
        self.directory = Path(directory)
        self.store = store
        self.rewrite_share = rewrite_share

    def read(self, promotions_since: datetime) -> MarketRead:
        """The serving market as of the store's current revision (read first: rows written meanwhile may be in
        the frames too, and are read again at the next refresh, as with a full read)."""
        started = time.perf_counter()
        revision = self.store.current_revision()
        instance = self.store.instance()
        if instance is None:  # a store that cannot say who it is: nothing cached can be trusted for it
            market = read_store_market(self.store, promotions_since)
            return MarketRead(market, revision, "store", 0, time.perf_counter() - started)
        snapshot = self.newest(instance, revision, promotions_since)
        if snapshot is None:
            return self._read_in_full(revision, instance, promotions_since, started)
        try:
            market = _load(snapshot)
            merged = self._merge_delta(market, snapshot.revision)
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:  # a damaged or unreadable copy
            log.warning("market snapshot %s could not be read (%s); reading the store in full", snapshot.path.name, exc)
            shutil.rmtree(snapshot.path, ignore_errors=True)  # so the full read below writes a sound one
            merged = None
        if merged is None:  # the store does not hold what the snapshot plus its rows since say: read it all
            log.warning("market snapshot %s does not match the store; reading the store in full", snapshot.path.name)
            return self._read_in_full(revision, instance, promotions_since, started)
        delta, plans_changed = merged
        name_content(market.plans, f"{snapshot.path.name}:{plans_changed}")
        market.promotions = market.promotions[market.promotions["started_at"] >= pd.Timestamp(promotions_since)]
        market.promotions = market.promotions.reset_index(drop=True)
        written = None
        if delta > self.rewrite_share * max(sum(snapshot.rows.values()), 1):
            written = self._write(market, revision, instance, promotions_since)
        return MarketRead(market, revision, "snapshot", delta, time.perf_counter() - started, written)

    def _read_in_full(self, revision: int, instance: int, promotions_since: datetime, started: float) -> MarketRead:
        """The store read in full, written as the snapshot at ``revision``."""
        market = read_store_market(self.store, promotions_since)
        written = self._write(market, revision, instance, promotions_since)
        if written is not None:  # the plans are the ones this snapshot holds (another worker's may hold others)
            name_content(market.plans, f"{written.name}:")
        return MarketRead(market, revision, "store", 0, time.perf_counter() - started, written)

    def newest(self, instance: int, revision: int, promotions_since: datetime) -> SnapshotInfo | None:
        """The newest usable snapshot (see the module docstring), or None."""
        usable = [
            info
            for info in self._all()
            if info.instance == instance
            and info.revision <= revision
            and info.promotions_since <= promotions_since
            and _columns_match(info)
        ]
        return max(usable, key=lambda i: i.revision, default=None)

    def _all(self) -> list[SnapshotInfo]:
        if not self.directory.is_dir():
            return []
        found = (SnapshotInfo.read(p) for p in self.directory.iterdir() if p.is_dir() and not p.name.startswith("."))
        return [info for info in found if info is not None]

    def _merge_delta(self, market: Marketplace, since_revision: int) -> tuple[int, str] | None:
        """Put the rows written after ``since_revision`` in place in ``market``'s tables; returns how many, and a
        digest of the plan rows among them ("" when none), or None when a table then has another number of rows than
        the store's (rows are never deleted: a store restored from a backup and written since, or one changed by
        hand, is not the one the snapshot was taken of)."""
        count = 0
        plans_changed = ""
        with self.store.engine.connect() as conn, conn.begin():
            for name in SERVING_TABLES:
                changed = self.store.read_table(
                    name, conn, since_revision=since_revision, extras=CAPACITY_COLUMNS.get(name, ())
                )
                if name == "plans" and len(changed):
                    plans_changed = frame_digest(changed)
                setattr(market, name, upsert_frame(getattr(market, name), changed, TABLES[name].key))
                count += len(changed)
                rows = conn.execute(sa.select(sa.func.count()).select_from(SA_TABLES[name])).scalar_one()
                if rows != len(getattr(market, name)):
                    return None
            changed = promotion_rows(self.store, conn, since_revision=since_revision)
            market.promotions = upsert_frame(market.promotions, changed, _PROMOTION_KEY)
            count += len(changed)
        return count, plans_changed

    def _write(self, market: Marketplace, revision: int, instance: int, promotions_since: datetime) -> Path | None:
        """Write ``market`` as the snapshot at ``revision`` (None when one is there already or it cannot be
        written: serving goes on from the store, logged)."""
        target = self.directory / f"{revision}-{instance}"
        if target.exists():
            return None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.directory))
            tmp.chmod(0o755)  # like the bundle's folders (mkdtemp makes it private)
            meta: dict[str, Any] = {
                "format": FORMAT,
                "revision": revision,
                "instance": instance,
                "promotions_since": promotions_since.isoformat(),
                "written_at": datetime.now().isoformat(timespec="seconds"),
                "columns": {},
                "json_columns": {},
                "rows": {},
            }
            for name in (*SERVING_TABLES, "promotions"):
                frame = getattr(market, name)
                table, as_json = _encode(frame)
                feather.write_feather(table, tmp / f"{name}.arrow", compression="uncompressed")
                meta["columns"][name] = [str(c) for c in frame.columns]
                meta["json_columns"][name] = as_json
                meta["rows"][name] = len(frame)
            (tmp / "snapshot.json").write_text(json.dumps(meta, indent=1))
            for path in tmp.iterdir():
                _fsync(path)
            try:
                os.rename(tmp, target)
            except OSError:  # another worker wrote the same revision first
                shutil.rmtree(tmp, ignore_errors=True)
                return None
            _fsync(self.directory)
        except (OSError, ValueError, TypeError, pa.ArrowException) as exc:  # a cache: never fails the worker's start
            log.warning("could not write the market snapshot at revision %d (%s); serving goes on", revision, exc)
            if "tmp" in locals():
                shutil.rmtree(tmp, ignore_errors=True)
            return None
        with contextlib.suppress(OSError):  # another worker may be pruning at the same time
            self._prune()
        log.info("market snapshot written at store revision %d: %s", revision, target)
        return target

    def _prune(self) -> None:
        snapshots = sorted(self._all(), key=lambda i: i.revision, reverse=True)
        for info in snapshots[KEEP:]:
            shutil.rmtree(info.path, ignore_errors=True)
        for stale in self.directory.glob(".tmp-*"):  # left by a process that died mid-write
            if time.time() - stale.stat().st_mtime > 3600:
                shutil.rmtree(stale, ignore_errors=True)


def frame_digest(frame: pd.DataFrame) -> str:
    """A digest of a frame's columns and values (lists and times included), equal for equal frames."""
    split = frame.to_dict("split")
    text = orjson.dumps([split["columns"], split["data"]], default=str, option=orjson.OPT_SERIALIZE_NUMPY)
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def upsert_frame(frame: pd.DataFrame, changed: pd.DataFrame, key: str) -> pd.DataFrame:
    """``frame`` with each row of ``changed`` in the place of the row of the same ``key``, or appended (in
    ``changed``'s order) when ``frame`` has none: what a full read returns, as an update keeps a row's place."""
    if changed.empty:
        return frame
    changed = changed.drop_duplicates(key, keep="last").reset_index(drop=True)
    position = pd.Index(frame[key]).get_indexer(changed[key])  # -1: a new row
    replaced = np.zeros(len(frame), bool)
    replaced[position[position >= 0]] = True
    place = np.concatenate(
        [np.flatnonzero(~replaced), np.where(position >= 0, position, len(frame) + np.arange(len(changed)))]
    )
    merged = pd.concat([frame[~replaced], changed], ignore_index=True)
    return merged.iloc[np.argsort(place, kind="stable")].reset_index(drop=True)


def promotion_rows(
    store: Store, conn: Connection, started_since: datetime | None = None, since_revision: int | None = None
) -> pd.DataFrame:
    """The promotions' key and the columns the market state reads (who, what, when), started at or after
    ``started_since`` and / or written after ``since_revision``: whole rows, with their JSON extras expanded,
    took ~1.5x as long to read, a third of a worker's store reads."""
    table = SA_TABLES["promotions"]
    names = (_PROMOTION_KEY, *RECENT_PROMOTION_COLUMNS)
    query = sa.select(*(table.c[name] for name in names))
    if started_since is not None:
        query = query.where(table.c["started_at"] >= started_since)
    if since_revision is not None:
        query = query.where(table.c[REVISION_COLUMN] > since_revision)
    frame = pd.DataFrame(conn.execute(query).all(), columns=list(names))
    frame["started_at"] = pd.to_datetime(frame["started_at"])
    return frame


def _columns_match(info: SnapshotInfo) -> bool:
    """The snapshot has every table, and every schema column the store's tables have now (a migration adds columns)."""
    return "promotions" in info.columns and all(
        set(TABLES[name].column_names) <= set(info.columns.get(name, ())) for name in SERVING_TABLES
    )


def _encode(frame: pd.DataFrame) -> tuple[pa.Table, list[str]]:
    """An Arrow table of ``frame``: object columns that are not all strings become JSON texts (listed)."""
    as_json = []
    columns = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
            as_json.append(str(name))
            column = pd.Series([_dump(v) for v in column], dtype=object)
        elif column.dtype == object and column.notna().sum() == 0:
            column = pd.Series([None] * len(column), dtype=object)
        columns[str(name)] = column
    frame = pd.DataFrame(columns)
    return pa.Table.from_pandas(frame, preserve_index=False), as_json


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return json.dumps(value.tolist() if isinstance(value, np.ndarray) else value, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _load(info: SnapshotInfo) -> Marketplace:
    frames: dict[str, pd.DataFrame] = {}
    for name in (*SERVING_TABLES, "promotions"):
        table = feather.read_table(info.path / f"{name}.arrow", memory_map=True)
        frame = table.to_pandas()
        for column in info.json_columns.get(name, []):  # each distinct text decoded once (most are "[]" or alike)
            codes, texts = pd.factorize(frame[column])  # -1: None
            decoded = np.empty(len(texts) + 1, dtype=object)
            decoded[:-1] = [_decode(t) for t in np.asarray(texts, dtype=object).tolist()]  # not Arrow scalars: 5x
            frame[column] = pd.Series(decoded[codes], dtype=object)
        frames[name] = frame
    for name in TABLES:
        frames.setdefault(name, records_to_frame(TABLES[name], []))
    return Marketplace(**frames)


def _decode(text: str) -> Any:
    """A JSON text as Python (orjson: ~3x faster over 134k plans' tiers; ``NaN``, which it refuses, by json)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
