"""A cache of folded graphs, traces, verifications and reports, keyed by all they depend on.

Re-running an analysis after a change of figure style finds its products here and takes seconds;
a change of model, data, images, T or any graph meta, preset file, option, or of ANY source file
of the installed ``rshw`` and ``simulators`` packages gives a new key (a stale hit is a wrong
result, so the code hash is deliberately coarse). Every entry is written under a private
temporary name (pid and a random suffix) and renamed into place when complete; when two runs
sharing one cache race for the same entry, the first rename wins and the other run discards its
copy and reads the winner's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

CACHE_VERSION = 2
CODE_PACKAGES = ("rshw", "simulators")


def cache_root() -> Path:
    """``$RSHW_CACHE/runs`` (default ``~/.cache/rshw/runs``)."""
    base = os.environ.get("RSHW_CACHE") or Path.home() / ".cache" / "rshw"
    return Path(base) / "runs"


@cache
def code_hash() -> str:
    """One hash of every ``.py`` and ``.toml`` file under the imported ``rshw`` and ``simulators``
    packages (relative path and bytes), computed once per process."""
    import importlib

    h = hashlib.sha256()
    for package in CODE_PACKAGES:
        root = Path(importlib.import_module(package).__file__).parent
        files = sorted(
            p
            for p in root.rglob("*")
            if p.suffix in (".py", ".toml") and "__pycache__" not in p.parts
        )
        for path in files:
            h.update(f"{package}/{path.relative_to(root).as_posix()}".encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def key(kind: str, **inputs: Any) -> str:
    """A short, stable hash of ``inputs`` (JSON-serialisable) and of the code, prefixed by
    ``kind``."""
    text = json.dumps(
        {"kind": kind, "version": CACHE_VERSION, "code": code_hash(), **inputs},
        sort_keys=True,
        default=str,
    )
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


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
