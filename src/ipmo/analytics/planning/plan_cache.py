"""A disk cache for planning (definitions → per-code weights), so a fresh process skips it.

Planning is pure: its result depends only on its inputs (definitions, the data's presentations,
ICS measure files) and on the shipped code and data it reads (the starter dictionary, brand and
CO2e tables, the planning modules). The cache key is a SHA-256 over all of them — the inputs as
given, plus every file of the ``ipmo.analytics`` and ``ipmo.terminology`` packages — so changing
any definition, presentation, dictionary row or line of planning code misses the cache and plans
afresh. A cache that cannot be read (corrupt, other Python) or written (read-only) is ignored:
the value is recomputed, never guessed.

Folder: ``$IPMO_PLAN_CACHE_DIR`` (``off`` disables it), default ``$XDG_CACHE_HOME/ipmo/plans``
(``~/.cache/ipmo/plans``). Entries are pickles written by this process's user only; the oldest
beyond ``MAX_ENTRIES`` are removed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
MAX_ENTRIES = 64
PACKAGES = ("ipmo.analytics", "ipmo.terminology")
_SKIP_DIRS = {"__pycache__"}


def cache_dir() -> Path | None:
    """Where entries live, or None when caching is off."""
    configured = os.environ.get("IPMO_PLAN_CACHE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "none") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ipmo" / "plans"


def _files(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            if not name.endswith((".pyc", ".pyo")):
                yield Path(dirpath) / name


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 over every file of the packages planning reads (code, dictionary, tables)."""
    digest = hashlib.sha256()
    for package in PACKAGES:
        root = Path(str(resources.files(package)))
        for path in _files(root):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def folder_fingerprint(folders: Iterable[Path]) -> str:
    """SHA-256 over the names and contents of the files in ``folders`` (ICS measure files)."""
    digest = hashlib.sha256()
    for folder in folders:
        digest.update(str(folder).encode() + b"\0")
        if folder.is_dir():
            for path in _files(folder):
                digest.update(str(path.relative_to(folder)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256(f"{kind}\0{code_fingerprint()}".encode())
    for part in parts:
        digest.update(b"\0" + part.encode())
    return f"{kind}-{digest.hexdigest()}"


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        old.unlink(missing_ok=True)


def cached(cache_key: str, compute: Callable[[], T]) -> T:
    """``compute()``, or its result stored under ``cache_key`` by an earlier process."""
    folder = cache_dir()
    if folder is None:
        return compute()
    path = folder / f"{cache_key}.pickle"
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)  # noqa: S301 - our own cache folder, written below
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - an unreadable entry is recomputed and replaced
        path.unlink(missing_ok=True)
    value = compute()
    _store(folder, path, value)
    return value


def _store(folder: Path, path: Path, value: object) -> None:
    """Write atomically (a reader sees the old entry, none, or the whole new one); a failure —
    read-only or full disk, unpicklable value — only costs the next process its planning."""
    tmp: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        tmp = None
        _prune(folder)
    except Exception:  # noqa: BLE001, S110 - see docstring
        pass
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
