"""Where datasets are looked for, and the error that tells a user where to put them."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
"""``<repo>/../shared/data``: the team's read-only data folder beside the checkout."""

Found = TypeVar("Found")


def candidate_roots(folders: Sequence[str]) -> list[tuple[Path, str]]:
    """Folders to try, in order, each with how it was derived (for error messages)."""
    bases: list[tuple[Path, str]] = []
    env = os.environ.get("RSHW_DATA")
    if env:
        bases.append((Path(env), "$RSHW_DATA"))
    bases.append((Path.cwd() / "data", "./data"))
    bases.append((SHARED_DATA, "<repo>/../shared/data"))
    return [(base / folder, f"{label}/{folder}") for base, label in bases for folder in folders]


def locate(
    name: str,
    root: str | Path | None,
    folders: Sequence[str],
    layouts: Sequence[str],
    find: Callable[[Path], Found | None],
) -> Found:
    """Return ``find(path)`` for the first candidate path that holds the dataset.

    ``root`` given: only that path is tried. ``find`` returns None when a path does not hold the
    dataset and raises ``ValueError`` when it holds a malformed one.
    """
    tried = [(Path(root), "given root, --data")] if root is not None else candidate_roots(folders)
    for path, _ in tried:
        if path.exists():
            found = find(path)
            if found is not None:
                return found
    raise FileNotFoundError(not_found_message(name, tried, layouts, folders[0]))


def not_found_message(
    name: str, tried: list[tuple[Path, str]], layouts: Sequence[str], folder: str
) -> str:
    lines = [f"dataset {name!r} not found. Looked in:"]
    for path, how in tried:
        state = "exists, no known layout" if path.exists() else "missing"
        lines.append(f"  {path.absolute()}  ({how}; {state})")
    if "RSHW_DATA" not in os.environ:
        lines.append("  ($RSHW_DATA is not set)")
    lines.append("Expected one of these layouts:")
    lines.extend(f"  - {layout}" for layout in layouts)
    lines.append(
        "Pass the location with --data PATH (load_dataset(..., root=PATH)), "
        f"or set $RSHW_DATA to a folder that holds {folder}/."
    )
    return "\n".join(lines)
