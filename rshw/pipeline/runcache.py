"""The files of the stage cache: where entries lie, and how they are written atomically.

The keys, lookup and damage handling are :mod:`rshw.pipeline.stages`'s; this module only knows
paths. Every entry is written under a private
temporary name (pid and a random suffix) and renamed into place when complete; when two runs
sharing one cache race for the same entry, the first rename wins and the other run discards its
copy and reads the winner's.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def cache_root() -> Path:
    """``$RSHW_CACHE/runs`` (default ``~/.cache/rshw/runs``)."""
    base = os.environ.get("RSHW_CACHE") or Path.home() / ".cache" / "rshw"
    return Path(base) / "runs"


def entry(name: str) -> Path:
    return cache_root() / name


def private_path(target: Path) -> Path:
    """A name beside ``target`` that no other process uses (pid + random)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def publish(tmp: Path, target: Path) -> Path:
    """Rename the finished ``tmp`` (file or folder) onto ``target``; if another run published
    ``target`` first, discard ``tmp`` and keep theirs. Returns ``target``."""
    try:
        os.rename(tmp, target) if tmp.is_dir() else os.link(tmp, target)
    except (FileExistsError, OSError) as e:
        if not target.exists():
            raise RuntimeError(f"cannot publish {tmp} as {target}: {e}") from e
    discard(tmp)
    return target


@contextmanager
def writing(target: Path) -> Iterator[Path]:
    """A private path to build ``target`` in; published (or discarded on error) afterwards."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = private_path(target)
    try:
        yield tmp
        publish(tmp, target)
    finally:
        discard(tmp)


@contextmanager
def swapping(target: Path) -> Iterator[Path]:
    """A private folder to build ``target`` in, swapped in for any previous ``target`` when the
    block completes; on error nothing of it is left, and the previous folder stays."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = private_path(target)
    tmp.mkdir()
    try:
        yield tmp
        for _ in range(10):  # another run may swap its own folder in meanwhile
            old = private_path(target)
            try:
                os.rename(target, old)
            except FileNotFoundError:
                pass
            try:
                os.rename(tmp, target)
            except OSError:
                continue
            finally:
                discard(old)
            break
        else:
            raise RuntimeError(f"could not move the finished run into {target}: it keeps changing")
    finally:
        discard(tmp)


def discard(path: Path) -> None:
    """Remove a file or folder, if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def discard_damaged(path: Path, problem: Exception) -> None:
    """Remove a damaged cache entry (a cut trace, unreadable JSON, a truncated CSV), saying so in
    one line; the caller then computes it again."""
    print(
        f"discarding damaged cache entry {path} ({type(problem).__name__}: {problem}); "
        "computing it again",
        file=sys.stderr,
    )
    discard(path)
