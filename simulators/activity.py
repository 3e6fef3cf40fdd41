"""Recorded spike activity of an IR graph: exact spike maps per edge, step and sample, plus rates.

An Activity covers every spike-carrying edge of a graph (:meth:`Graph.spike_edges`). On disk it is
a folder: ``header.json`` (graph fingerprint, edges and shapes, T, sample count, per-sample spike
counts) and ``chunk_NNNNN.npz`` files holding bit-packed maps ``[n, T, *shape]`` (``np.packbits``
over the neurons of each sample and step) plus, per edge, the spike count of every neuron and
step summed over the samples (``[T, *shape]``: exact fan-out counts need nothing more).
A writer streams chunks into ``PATH.partial`` and renames it when closed, so a folder without the
suffix is always complete.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulators.files import NPZ_READ_ERRORS, atomic_write_text

if TYPE_CHECKING:
    from simulators.ir import Graph

FORMAT = "rshw-activity"
FORMAT_VERSION = 1


class ActivityError(ValueError):
    """An activity folder is missing, corrupted, or belongs to another graph."""


HEADER_KEYS = ("format", "format_version", "timesteps", "samples", "edges", "chunks", "meta")


class ActivityWriter:
    """Append spike maps chunk by chunk; ``close()`` (or leaving the ``with``) publishes them."""

    def __init__(
        self,
        path: str | Path,
        edges: dict[str, tuple[int, ...]],
        timesteps: int,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        shutil.rmtree(self.partial, ignore_errors=True)
        self.partial.mkdir(parents=True)
        self.edges = {k: tuple(int(s) for s in v) for k, v in edges.items()}
        self.timesteps = timesteps
        self.meta = dict(meta or {})
        self.samples = 0
        self.chunks: list[dict[str, Any]] = []
        self.sample_counts = {k: [] for k in self.edges}
        self.position_counts = {
            k: np.zeros((timesteps, *s), np.int64) for k, s in self.edges.items()
        }

    def append(self, maps: dict[str, np.ndarray]) -> None:
        """Add ``[n, T, *shape]`` 0/1 maps (any numeric or bool dtype) for every edge."""
        missing = set(self.edges) - set(maps)
        if missing:
            raise ActivityError(f"chunk lacks edge(s) {sorted(missing)}")
        n = None
        arrays = {}
        for name, shape in self.edges.items():
            m = np.asarray(maps[name])
            if m.shape[1:] != (self.timesteps, *shape) or (n is not None and len(m) != n):
                raise ActivityError(
                    f"edge {name!r}: expected [n, {self.timesteps}, "
                    f"{', '.join(map(str, shape))}], got {m.shape}"
                )
            n = len(m)
            bits = m.astype(bool)
            arrays[name] = np.packbits(bits.reshape(n, self.timesteps, -1), axis=-1)
            self.sample_counts[name].append(bits.reshape(n, self.timesteps, -1).sum(-1))
            self.position_counts[name] += bits.sum(0)
        file = f"chunk_{len(self.chunks):05d}.npz"
        np.savez(self.partial / file, **arrays)
        self.chunks.append({"file": file, "start": self.samples, "count": n})
        self.samples += n

    def close(self) -> Activity:
        np.savez(
            self.partial / "counts.npz",
            **{
                f"sample/{k}": np.concatenate(v) if v else np.zeros((0, self.timesteps), np.int64)
                for k, v in self.sample_counts.items()
            },
            **{f"position/{k}": v for k, v in self.position_counts.items()},
        )
        header = json.dumps(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "timesteps": self.timesteps,
                "samples": self.samples,
                "edges": {k: list(v) for k, v in self.edges.items()},
                "chunks": self.chunks,
                "meta": self.meta,
            }
        )
        atomic_write_text(self.partial / "header.json", header)
        shutil.rmtree(self.path, ignore_errors=True)
        os.replace(self.partial, self.path)
        return Activity.load(self.path)

    def __enter__(self) -> ActivityWriter:
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            self.close()


class Activity:
    """Read access to a recorded activity folder (maps are unpacked on demand)."""

    def __init__(self, path: Path, header: dict[str, Any], counts: dict[str, np.ndarray]) -> None:
        self.path = path
        self.timesteps: int = header["timesteps"]
        self.samples: int = header["samples"]
        self.edges: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in header["edges"].items()}
        self.meta: dict[str, Any] = header["meta"]
        self._chunks = header["chunks"]
        self._counts = counts

    @classmethod
    def load(cls, path: str | Path) -> Activity:
        path = Path(path)
        header_file = path / "header.json"
        if not header_file.is_file():
            hint = (
                " (an unfinished recording: run the trace again)"
                if path.with_name(path.name + ".partial").exists()
                else ""
            )
            raise ActivityError(f"no activity at {path}: {header_file} is missing{hint}")
        try:
            header = json.loads(header_file.read_text())
        except (OSError, ValueError) as e:
            raise ActivityError(f"{header_file} is not readable JSON ({e}): trace again") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ActivityError(f"{path} is not an rshw activity folder")
        if header.get("format_version") != FORMAT_VERSION:
            raise ActivityError(
                f"{path} has activity format version {header.get('format_version')}; "
                f"this version reads {FORMAT_VERSION}"
            )
        missing = [k for k in HEADER_KEYS if k not in header]
        if missing:
            raise ActivityError(f"{header_file} lacks {', '.join(missing)}: trace again")
        counts_file = path / "counts.npz"
        try:
            with np.load(counts_file, allow_pickle=False) as data:
                counts = {k: data[k] for k in data.files}
        except NPZ_READ_ERRORS as e:
            raise ActivityError(
                f"{counts_file} is not readable ({type(e).__name__}: {e}): the file is truncated "
                "or corrupted; trace again"
            ) from None
        _check_counts(counts, header, counts_file)
        return cls(path, header, counts)

    def check_graph(self, graph: Graph) -> None:
        """Refuse activity recorded on another graph, or whose edges do not fit this one."""
        fingerprint = graph.fingerprint()
        recorded = self.meta.get("graph_fingerprint")
        if recorded != fingerprint:
            raise ActivityError(
                f"{self.path} was recorded on another graph (fingerprint "
                f"{recorded}, this graph {fingerprint}): trace it again"
            )
        for edge in graph.spike_edges():
            expected = tuple(graph[edge].shape)
            if edge not in self.edges:
                raise ActivityError(f"{self.path} has no spikes for edge {edge!r}: trace it again")
            if self.edges[edge] != expected:
                raise ActivityError(
                    f"{self.path}: edge {edge!r} was recorded as {self.edges[edge]}, but the "
                    f"graph's {edge!r} is {expected}: trace it again"
                )

    def neurons(self, edge: str) -> int:
        return int(np.prod(self._edge(edge)))

    def _edge(self, edge: str) -> tuple[int, ...]:
        if edge not in self.edges:
            raise ActivityError(f"no edge {edge!r} in {self.path}; edges: {', '.join(self.edges)}")
        return self.edges[edge]

    def sample_counts(self, edge: str) -> np.ndarray:
        """Spikes per sample and step, ``[samples, T]``."""
        self._edge(edge)
        return self._counts[f"sample/{edge}"]

    def position_counts(self, edge: str) -> np.ndarray:
        """Spikes per step and neuron summed over samples, ``[T, *shape]``."""
        self._edge(edge)
        return self._counts[f"position/{edge}"]

    def rates(self, edge: str) -> np.ndarray:
        """Firing rate per step (spikes per neuron per sample), ``[T]``."""
        return self.sample_counts(edge).sum(0) / (self.samples * self.neurons(edge))

    def rate(self, edge: str) -> float:
        return float(self.rates(edge).mean())

    def iter_maps(self, edge: str) -> Iterator[np.ndarray]:
        """Bool maps ``[n, T, *shape]`` chunk by chunk (bounded memory)."""
        shape = self._edge(edge)
        size = int(np.prod(shape))
        for chunk in self._chunks:
            file = self.path / chunk["file"]
            try:
                with np.load(file, allow_pickle=False) as data:
                    packed = data[edge]
            except NPZ_READ_ERRORS as e:
                raise ActivityError(
                    f"{file} is not readable ({type(e).__name__}: {e}): the file is truncated or "
                    "corrupted; trace again"
                ) from None
            bits = np.unpackbits(packed, axis=-1, count=size).astype(bool)
            yield bits.reshape(chunk["count"], self.timesteps, *shape)

    def maps(self, edge: str, samples: slice | None = None) -> np.ndarray:
        """Bool maps ``[samples, T, *shape]`` (all samples unless a slice is given)."""
        full = (
            np.concatenate(list(self.iter_maps(edge)))
            if self._chunks
            else np.zeros((0, self.timesteps, *self._edge(edge)), bool)
        )
        return full if samples is None else full[samples]


def _check_counts(counts: dict[str, np.ndarray], header: dict[str, Any], where: Path) -> None:
    """Every edge's spike counts have the shape its header promises (samples, T and the map)."""
    steps, samples = header["timesteps"], header["samples"]
    for edge, shape in header["edges"].items():
        for key, expected in (
            (f"sample/{edge}", (samples, steps)),
            (f"position/{edge}", (steps, *shape)),
        ):
            if key not in counts:
                raise ActivityError(f"{where} lacks {key!r}: trace again")
            if counts[key].shape != tuple(expected):
                raise ActivityError(
                    f"{where}: {key!r} has shape {counts[key].shape}, the header says "
                    f"{tuple(expected)}: trace again"
                )
