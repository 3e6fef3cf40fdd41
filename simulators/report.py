"""The Report every hardware model returns: one tidy table with the same columns everywhere.

One row per layer × component (× time step where a model resolves steps): how many events the
component performed, the cycles it took, the energy it spent in pJ and the area it occupies in
µm². Analytic, CIM and GPU reports share these columns, so ``pd.concat`` compares them. The
config the numbers came from, the units, and any notes travel with the table.

Beside it, ``per_image`` holds one row per traced image (``image``: its index in the Activity's
samples; ``energy_pj``, ``latency_s`` where the model has a latency, ``sops``, ``firing_rate``),
and the summary gains ``images`` and ``<metric>_mean`` / ``<metric>_ci95`` (half-width of the
95 % Student t interval) for each of them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulators.files import atomic_write_text
from simulators.stats import summarize_per_image

COLUMNS = (
    "hardware",
    "layer",
    "op",
    "step",
    "component",
    "event",
    "events",
    "cycles",
    "energy_pj",
    "area_um2",
)
UNITS = {
    "events": "count per inference (one sample, all time steps)",
    "cycles": "clock cycles per inference",
    "energy_pj": "pJ per inference",
    "area_um2": "µm²",
    "step": "time step (-1: all steps together)",
}
PER_IMAGE_METRICS = ("energy_pj", "latency_s", "sops", "firing_rate")


@dataclass
class Report:
    """A table with :data:`COLUMNS` plus the config, a summary, notes and per-image metrics."""

    frame: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    per_image: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __post_init__(self) -> None:
        missing = [c for c in COLUMNS if c not in self.frame.columns]
        if missing:
            raise ValueError(f"a report needs columns {list(COLUMNS)}; missing {missing}")
        self.frame = self.frame[list(COLUMNS) + [c for c in self.frame if c not in COLUMNS]]
        self.frame.attrs.update({"units": UNITS, "config": self.config})
        if not self.per_image.empty:
            unknown = set(self.per_image.columns) - {"image", *PER_IMAGE_METRICS}
            if "image" not in self.per_image or unknown:
                raise ValueError(
                    f"per_image needs an 'image' column and metrics from "
                    f"{list(PER_IMAGE_METRICS)}; got {list(self.per_image.columns)}"
                )
            self.summary.update(summarize_per_image(self.per_image))

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]], **kw: Any) -> Report:
        frame = pd.DataFrame(rows, columns=list(COLUMNS) if not rows else None)
        for column, default in (
            ("step", -1),
            ("cycles", 0.0),
            ("energy_pj", 0.0),
            ("area_um2", 0.0),
            ("events", 0.0),
            ("event", ""),
        ):
            if column not in frame:
                frame[column] = default
        return cls(frame, **kw)

    def by_layer(self) -> pd.DataFrame:
        """Events summed over steps, energy and area per layer and component."""
        return (
            self.frame.groupby(["hardware", "layer", "op", "component", "event"], sort=False)[
                ["events", "cycles", "energy_pj", "area_um2"]
            ]
            .sum()
            .reset_index()
        )

    def total_energy_pj(self) -> float:
        return float(self.frame["energy_pj"].sum())

    def save(self, folder: str | Path, name: str) -> Path:
        """Write ``NAME.csv`` (the table), ``NAME.json`` (config, summary, notes) and
        ``NAME.per_image.csv``, atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tables = {
            f"{name}.csv": self.frame.to_csv(index=False),
            f"{name}.per_image.csv": self.per_image.to_csv(index=False),
        }
        for file, text in tables.items():
            atomic_write_text(folder / file, text)
        side = {"config": self.config, "summary": self.summary, "notes": self.notes, "units": UNITS}
        side["sha256"] = {file: _sha256(text.encode()) for file, text in tables.items()}
        atomic_write_text(folder / f"{name}.json", json.dumps(side, indent=2, default=_jsonable))
        return folder / f"{name}.csv"

    @classmethod
    def load(cls, folder: str | Path, name: str) -> Report:
        folder = Path(folder)
        side = json.loads((folder / f"{name}.json").read_text())
        for file, expected in side.get("sha256", {}).items():  # a cut or edited table is refused
            if _sha256((folder / file).read_bytes()) != expected:
                raise ValueError(f"{folder / file} does not match its checksum in {name}.json")
        per_image = folder / f"{name}.per_image.csv"
        return cls(
            pd.read_csv(folder / f"{name}.csv", keep_default_na=False),
            config=side["config"],
            summary=side["summary"],
            notes=side["notes"],
            per_image=_read_per_image(per_image),
        )


def _read_per_image(path: Path) -> pd.DataFrame:
    """The per-image table; empty where the report has none (older reports, or none saved)."""
    if not path.is_file() or not path.read_text().strip():
        return pd.DataFrame()
    return pd.read_csv(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a report")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
