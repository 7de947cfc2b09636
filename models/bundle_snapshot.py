"""What the service serves cannot change under it: read-only artifacts and one shared, verified snapshot per bundle.

- :func:`make_read_only`: a saved bundle's files are mode 0444 (folders stay writable, so tools can still remove
  or copy a bundle; the guarantee comes from the snapshot, not from the modes: the owner or root can still write).
- :func:`snapshot_bundle`: the verified copy of a bundle every worker of the machine serves from. The first process
  that needs it copies every file into ``<artifacts>/.serving/.tmp-…``, hashing the bytes as they are copied and
  comparing them with the manifest, records each file's size and mtime (``.verified.json``) and renames the folder
  into place — ``<run_id>.<manifest sha256[:16]>.<generation>`` — so it appears whole or not at all. Later loads of
  the same manifest (the other workers, a reload of the same bundle, an A/B arm) reuse it after a cheap check of the
  recorded sizes and mtimes; a copy that changed since is left to its holders and a fresh generation is made. The
  artifacts are checked too (an artifact whose size or mtime changed since it was copied is hashed again), so a
  reload of a damaged bundle is refused whether or not a snapshot of it exists. All
  of this runs under one ``flock`` on ``.serving/.lock``, so concurrent workers copy a bundle once, not once each.
  The copy is private to the service: truncating or rewriting the artifacts cannot reach a running worker (a hard
  link would share the inode: truncating the original truncates the link, and a memory-mapped page past the new end
  is a SIGBUS). With every worker mapping the same files, the page cache holds one copy however many workers and
  reloads there are.
- The copy of the current bundle outlives its last holder when the service keeps it (``serving.keep_snapshot``):
  :func:`remove_snapshot` with ``keep`` only releases the hold, and :func:`sweep_stale_snapshots` spares an intact
  copy of the bundle it is told to keep, so a restart maps the copy it already verified instead of copying and
  hashing the bundle again (7.7 s of a 1M-product start). Every other unheld snapshot is removed as before.
- Who serves a snapshot is told by the kernel, not by bookkeeping: each load takes a shared ``flock`` on the
  snapshot's ``.hold`` file and keeps that descriptor open while it serves. :func:`remove_snapshot` closes one such
  hold and deletes the folder when an exclusive lock then succeeds (nobody holds it any more: not another worker,
  not this one). A worker killed with ``kill -9`` loses its locks with its descriptors, so
  :func:`sweep_stale_snapshots` at start removes exactly the snapshots no live process serves. Unlinking files that
  are still memory-mapped is safe: a mapping keeps its inode until it is unmapped.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

SNAPSHOTS_DIR = ".serving"
READ_ONLY = 0o444
BLOCK = 1 << 20
HOLD = ".hold"
RECORD = ".verified.json"
LOCK = ".lock"
LOCK_TIMEOUT_S = 600.0  # copying a 1M-product bundle takes seconds; a holder stuck this long is a fault

_loads = itertools.count(1)
_holds: dict[Path, list[int]] = {}  # snapshot folder -> this process's open, shared-locked .hold descriptors
_holds_lock = threading.Lock()


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


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """The machine-wide snapshot lock (``flock`` on ``root/.lock``; a process that dies releases it)."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SnapshotError(f"the bundle snapshot lock {root / LOCK} was held too long") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _read_manifest(bundle_dir: Path) -> tuple[bytes, dict[str, str]]:
    try:
        raw = (bundle_dir / "manifest.json").read_bytes()
        files: dict[str, str] = dict(json.loads(raw)["files"])
    except FileNotFoundError as exc:
        raise SnapshotError(f"{bundle_dir} is not a bundle: manifest.json is missing") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"bundle {bundle_dir.name}: manifest.json is not a valid manifest ({exc})") from exc
    for rel in files:
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise SnapshotError(f"bundle {bundle_dir.name}: manifest names a file outside the bundle: {rel}")
    return raw, files


def snapshot_bundle(bundle_dir: Path, artifacts_dir: Path) -> Path:
    """The shared verified snapshot of the bundle in ``bundle_dir`` (made when no intact one exists), held by this
    process until :func:`remove_snapshot`; returns its folder. Raises :class:`SnapshotError` naming the first file
    that is missing or changed (nothing is left behind)."""
    raw, files = _read_manifest(bundle_dir)
    stem = f"{bundle_dir.name}.{hashlib.sha256(raw).hexdigest()[:16]}."
    root = artifacts_dir / SNAPSHOTS_DIR
    with _locked(root):
        generations = sorted(
            (int(p.name[len(stem) :]), p) for p in root.glob(stem + "*") if p.name[len(stem) :].isdigit()
        )
        for _, existing in reversed(generations):
            if snapshot_changed(existing) is None:
                _check_sources(existing, bundle_dir, files)
                _hold(existing)
                return existing
        target = root / f"{stem}{generations[-1][0] + 1 if generations else 1}"
        tmp = root / f".tmp-{os.getpid()}-{next(_loads)}"
        try:
            _fill(tmp, bundle_dir, raw, files)
            tmp.rename(target)
        except BaseException:
            remove_folder(tmp)
            raise
        _hold(target)
        return target


def _fill(tmp: Path, bundle_dir: Path, raw: bytes, files: dict[str, str]) -> None:
    """Copy and verify every file into ``tmp``, record what was verified, add the hold file."""
    tmp.mkdir()
    (tmp / "manifest.json").write_bytes(raw)
    for rel, expected in files.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        try:
            _copy_verified(bundle_dir / rel, tmp / rel, expected)
        except SnapshotError as exc:
            raise SnapshotError(f"bundle {bundle_dir.name}: {str(exc).replace(Path(rel).name, rel, 1)}") from exc
    (tmp / "manifest.json").chmod(READ_ONLY)
    names = ["manifest.json", *files]
    record = {"files": _stats(tmp, names), "sources": _stats(bundle_dir, list(files))}
    (tmp / RECORD).write_text(json.dumps(record))
    (tmp / RECORD).chmod(READ_ONLY)
    (tmp / HOLD).touch(READ_ONLY)


def is_copy_of(snapshot: Path, bundle_dir: Path) -> bool:
    """Whether ``snapshot`` is an intact copy of the bundle in ``bundle_dir`` as it is now: same run and manifest,
    every snapshot file as verified, and the artifacts themselves verified as a reload verifies them (a file changed
    since it was copied is hashed again). A reload of the bundle already served then has nothing to load. Raises
    :class:`SnapshotError` naming the file when the artifacts are missing or damaged (the reload is refused)."""
    raw, files = _read_manifest(bundle_dir)
    if not snapshot.name.startswith(f"{bundle_dir.name}.{hashlib.sha256(raw).hexdigest()[:16]}."):
        return False
    if snapshot_changed(snapshot) is not None:
        return False
    _check_sources(snapshot, bundle_dir, files)
    return True


def _stats(folder: Path, names: list[str]) -> dict[str, list[int]]:
    """Size and mtime (ns) of each named file under ``folder``."""
    return {rel: [st.st_size, st.st_mtime_ns] for rel in names for st in [(folder / rel).stat()]}


def _record(path: Path) -> dict[str, dict[str, list[int]]] | None:
    try:
        record: dict[str, dict[str, list[int]]] = json.loads((path / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record.get("files"), dict) else None


def _check_sources(snapshot: Path, bundle_dir: Path, files: dict[str, str]) -> None:
    """A reload of a bundle whose snapshot exists still refuses artifacts damaged since they were copied: a file
    whose size or mtime differs from when it was copied is hashed again, and must still match the manifest."""
    sources = (_record(snapshot) or {}).get("sources", {})
    for rel, expected in files.items():
        source = bundle_dir / rel
        try:
            st = source.stat()
        except FileNotFoundError:
            raise SnapshotError(f"bundle {bundle_dir.name}: file {rel} is missing") from None
        if sources.get(rel) == [st.st_size, st.st_mtime_ns]:
            continue
        digest = hashlib.sha256()
        with source.open("rb") as handle:
            for block in iter(lambda: handle.read(BLOCK), b""):
                digest.update(block)
        if digest.hexdigest() != expected:
            raise SnapshotError(
                f"bundle {bundle_dir.name}: file {rel} changed since it was written (sha256 differs from the manifest)"
            )


def _hold(folder: Path) -> None:
    """This process serves ``folder``: a shared lock on its hold file, kept until :func:`remove_snapshot`."""
    fd = os.open(folder / HOLD, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # exclusive locks are only taken under _locked: never blocks
    except OSError:
        os.close(fd)
        raise
    with _holds_lock:
        _holds.setdefault(folder, []).append(fd)


def _unheld(folder: Path) -> bool:
    """Whether no process (this one included) holds ``folder``; a folder without a hold file is nobody's."""
    try:
        fd = os.open(folder / HOLD, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def copy_into_snapshot(source: Path, snapshot_file: Path) -> None:
    """Copy a file the bundle does not checksum (a model compiled for this CPU) into a snapshot, read-only; another
    worker may do the same at the same moment: the first whole copy wins (written aside, then linked into place)."""
    snapshot_file.parent.mkdir(parents=True, exist_ok=True)
    partial = snapshot_file.with_name(f".{snapshot_file.name}.{os.getpid()}.{next(_loads)}.tmp")
    try:
        _copy_verified(source, partial, None)
        with contextlib.suppress(FileExistsError):
            os.link(partial, snapshot_file)
    finally:
        partial.unlink(missing_ok=True)


def is_snapshot(path: Path) -> bool:
    return path.parent.name == SNAPSHOTS_DIR


def remove_folder(path: Path) -> None:
    """Delete a folder outright (no error when it is gone)."""
    if path.exists():
        shutil.rmtree(path)  # read-only files in a writable folder: unlinking needs only the folder's permission


def remove_snapshot(path: Path, keep: bool = False) -> None:
    """This process no longer serves the snapshot ``path`` (one hold released); the folder is deleted when nobody
    serves it any more (no error when it is gone), unless ``keep``: the copy then stays for the next load of the
    same bundle (a restart), which reuses it after the usual size and mtime checks."""
    with _holds_lock:
        fds = _holds.get(path, [])
        fd = fds.pop() if fds else None
        if not fds:
            _holds.pop(path, None)
    if fd is not None:
        os.close(fd)
    if keep:
        return
    with _locked(path.parent):
        if _unheld(path):
            remove_folder(path)


def held_snapshots() -> dict[Path, int]:
    """The snapshots this process holds, with how many times (each load holds once)."""
    with _holds_lock:
        return {path: len(fds) for path, fds in _holds.items() if fds}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(folder: Path) -> bool:
    """A half-made copy of a dead process, a snapshot nobody holds, or an old per-process copy of a dead process."""
    name = folder.name
    if name.startswith(".tmp-"):
        pid = name.split("-")[1]
        return pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid))
    if (folder / HOLD).exists():
        return _unheld(folder)
    pid = name.split("-", 1)[0]  # <pid>-<n>-<run_id>: the private copies of earlier versions
    return pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid))


def sweep_stale_snapshots(artifacts_dir: Path, keep_copy_of: Path | None = None) -> list[Path]:
    """Remove the snapshots no live process serves (and half-made copies of dead ones); returns what was removed.
    With ``keep_copy_of`` (a bundle folder), an unheld snapshot that is an intact copy of that bundle as it is now
    (:func:`is_copy_of`) is kept for the next load to reuse; any other is removed."""
    root = artifacts_dir / SNAPSHOTS_DIR
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    with _locked(root):
        for folder in root.iterdir():
            if folder.is_dir() and _stale(folder) and not kept_copy(folder, keep_copy_of):
                remove_folder(folder)
                removed.append(folder)
    return removed


def kept_copy(folder: Path, bundle_dir: Path | None) -> bool:
    """Whether ``folder`` is a whole snapshot (not a half-made one) and an intact copy of the bundle in ``bundle_dir``
    as it is now (:func:`is_copy_of`); False for None, and when the bundle itself is damaged or gone."""
    if bundle_dir is None or folder.name.startswith(".tmp-") or not (folder / HOLD).exists():
        return False
    try:
        return is_copy_of(folder, bundle_dir)
    except (SnapshotError, OSError):  # the bundle itself is damaged or gone: its copy is not worth keeping
        return False


def snapshot_changed(path: Path) -> str | None:
    """The first file of a snapshot whose size or mtime is not the one recorded when it was verified, in words;
    None when every file is as verified. A snapshot without a record is never reused."""
    record = _record(path)
    if record is None:
        return f"snapshot {path.name} has no record of what was verified"
    for rel, (size, mtime_ns) in record["files"].items():
        try:
            st = (path / rel).stat()
        except OSError:
            return f"file {rel} of the snapshot {path.name} is gone"
        if (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
            return f"file {rel} of the snapshot {path.name} changed since it was verified"
    return None


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
    """Every verified file's size in the snapshot ``path`` (from its record; for a folder without one, every file
    but temporary ones), as :func:`snapshot_damage` compares them."""
    record = _record(path)
    if record is not None:
        return {rel: size for rel, (size, _) in record["files"].items()}
    return {str(p.relative_to(path)): p.stat().st_size for p in path.rglob("*") if p.is_file() and p.suffix != ".tmp"}
