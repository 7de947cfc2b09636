"""What the service serves cannot change under it: read-only artifacts and private, verified snapshots.

- :func:`make_read_only`: a saved bundle's files are mode 0444 (folders stay writable, so tools can still remove
  or copy a bundle; the guarantee comes from the snapshot, not from the modes: the owner or root can still write).
- :func:`snapshot_bundle`: copy every file of a bundle into a private folder, hashing the bytes as they are copied
  and comparing them with the manifest, so the copy holds exactly the bytes that were verified. The service memory-
  maps its arrays and indexes and loads its compiled models from there: a later truncation or rewrite of the
  artifacts cannot reach a running worker (a hard link would share the inode: truncating the original truncates the
  link, and a memory-mapped page past the new end is a SIGBUS). The snapshot folder is
  ``<artifacts>/.serving/<pid>-<n>-<run_id>``: the owning process, a load counter, the run.
- :func:`remove_snapshot` when a snapshot is no longer served (after a swap, at shutdown; unlinking a file that is
  still memory-mapped is safe: the mapping keeps the inode until it is unmapped), and
  :func:`sweep_stale_snapshots` for folders of processes that died without cleaning up (``kill -9``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

SNAPSHOTS_DIR = ".serving"
READ_ONLY = 0o444
BLOCK = 1 << 20

_loads = itertools.count(1)


class SnapshotError(Exception):
    """The bundle's files could not be copied as verified; the message names the file and the reason."""


def make_read_only(folder: Path) -> None:
    """Every file under ``folder`` becomes mode 0444 (read-only for everyone)."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(READ_ONLY)


def _copy_verified(source: Path, target: Path, expected: str | None) -> None:
    """Copy ``source`` to ``target`` hashing the bytes copied; refuse when they are not ``expected`` (sha256)."""
    digest = hashlib.sha256()
    try:
        with source.open("rb") as src, target.open("xb") as dst:
            for block in iter(lambda: src.read(BLOCK), b""):
                digest.update(block)
                dst.write(block)
    except FileNotFoundError as exc:
        raise SnapshotError(f"file {source.name} is missing") from exc
    if expected is not None and digest.hexdigest() != expected:
        raise SnapshotError(f"file {target.name} changed since it was written (sha256 differs from the manifest)")
    target.chmod(READ_ONLY)


def snapshot_bundle(bundle_dir: Path, artifacts_dir: Path) -> Path:
    """A private copy of the bundle in ``bundle_dir``, every file checked against the manifest's sha256 as it is
    copied; returns its folder. Raises :class:`SnapshotError` naming the first file that is missing or changed
    (nothing is left behind)."""
    manifest_path = bundle_dir / "manifest.json"
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_bytes())
        files: dict[str, str] = dict(manifest["files"])
    except FileNotFoundError as exc:
        raise SnapshotError(f"{bundle_dir} is not a bundle: manifest.json is missing") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"bundle {bundle_dir.name}: manifest.json is not a valid manifest ({exc})") from exc
    root = artifacts_dir / SNAPSHOTS_DIR
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{os.getpid()}-{next(_loads)}-{bundle_dir.name}"
    remove_snapshot(target)
    target.mkdir()
    try:
        (target / "manifest.json").write_bytes(json.dumps(manifest).encode())
        for rel, expected in files.items():
            if Path(rel).is_absolute() or ".." in Path(rel).parts:
                raise SnapshotError(f"bundle {bundle_dir.name}: manifest names a file outside the bundle: {rel}")
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            try:
                _copy_verified(bundle_dir / rel, target / rel, expected)
            except SnapshotError as exc:
                raise SnapshotError(f"bundle {bundle_dir.name}: {str(exc).replace(Path(rel).name, rel, 1)}") from exc
        (target / "manifest.json").chmod(READ_ONLY)
    except BaseException:
        remove_snapshot(target)
        raise
    return target


def copy_into_snapshot(source: Path, snapshot_file: Path) -> None:
    """Copy a file the bundle does not checksum (a model compiled for this CPU) into a snapshot, read-only."""
    snapshot_file.parent.mkdir(parents=True, exist_ok=True)
    _copy_verified(source, snapshot_file, None)


def is_snapshot(path: Path) -> bool:
    return path.parent.name == SNAPSHOTS_DIR


def remove_snapshot(path: Path) -> None:
    """Delete a snapshot folder (no error when it is gone)."""
    if path.exists():
        shutil.rmtree(path)  # read-only files in a writable folder: unlinking needs only the folder's permission


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_snapshots(artifacts_dir: Path) -> list[Path]:
    """Remove the snapshots of processes that no longer run; returns what was removed."""
    root = artifacts_dir / SNAPSHOTS_DIR
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for folder in root.iterdir():
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            remove_snapshot(folder)
            removed.append(folder)
    return removed


def snapshot_damage(path: Path, sizes: dict[str, int]) -> str | None:
    """The first file of a served snapshot whose size is not the one it was copied with (a truncated memory-mapped
    file is a SIGBUS on the next page read), in words; None when every file is intact."""
    for rel, size in sizes.items():
        try:
            now = (path / rel).stat().st_size
        except OSError:
            return f"file {rel} of the served snapshot {path.name} is gone"
        if now != size:
            return f"file {rel} of the served snapshot {path.name} changed size ({size} -> {now} bytes)"
    return None


def file_sizes(path: Path) -> dict[str, int]:
    """Every file's size under ``path`` (relative names), as :func:`snapshot_damage` compares them."""
    return {str(p.relative_to(path)): p.stat().st_size for p in path.rglob("*") if p.is_file()}
