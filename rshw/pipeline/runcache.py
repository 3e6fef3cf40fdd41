"""A cache of traces and reports keyed by a hash of everything that determines them.

Re-running an analysis after a change of figure style finds its traces and reports here and takes
seconds; a change of model, data, preset or option gives a new key. Entries are written atomically
(an activity folder is renamed into place when complete; a report's CSV and JSON are each written
atomically, JSON last), so an interrupted run loses nothing and never leaves half an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CACHE_VERSION = 1


def cache_root() -> Path:
    """``$RSHW_CACHE/runs`` (default ``~/.cache/rshw/runs``)."""
    base = os.environ.get("RSHW_CACHE") or Path.home() / ".cache" / "rshw"
    return Path(base) / "runs"


def key(kind: str, **inputs: Any) -> str:
    """A short, stable hash of ``inputs`` (JSON-serialisable), prefixed by ``kind``."""
    text = json.dumps(
        {"kind": kind, "version": CACHE_VERSION, **inputs}, sort_keys=True, default=str
    )
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def entry(name: str) -> Path:
    return cache_root() / name


def code_hash(*modules: str) -> str:
    """A hash of the source of the named modules (a package: every .py and .toml under it), so
    results computed by older code are not reused."""
    import importlib

    h = hashlib.sha256()
    for name in modules:
        source = Path(importlib.import_module(name).__file__)
        files = [source]
        if source.name == "__init__.py":
            files = sorted(
                p
                for p in source.parent.rglob("*")
                if p.suffix in (".py", ".toml") and "__pycache__" not in p.parts
            )
        for path in files:
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
