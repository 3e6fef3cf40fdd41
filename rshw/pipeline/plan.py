"""The plan: a request (command-line flags, an analysis's arguments, a sweep point) resolved ONCE
into frozen records, every option checked before any work.

A record holds everything a stage's product depends on, and nothing else; the stages
(:mod:`rshw.pipeline.stages`) key their cache entries by the records alone. So two commands that
resolve to the same records share their products: a sweep point is the ``rshw simulate`` run
with the same records, ``rshw reparam`` folds the network ``rshw simulate`` folds.

- :class:`ModelRecord`: what the folded graph depends on (the weights: an explicit or shipped
  checkpoint and its hash, an imported module's files' hash, or an untrained stand-in's seed and
  calibration data; T; dt of a NIR file; an imported module's input shape and SEW policy; the
  static-input policy). The checkpoint decision (explicit / shipped / stand-in, with the
  T rule) is made here and nowhere else.
- :class:`DataRecord`: which images a trace sees (dataset, file, split, T, images, seed, and a
  hash of the exact pixels and labels).
- :class:`~rshw.pipeline.hardware.HardwareRun`: one hardware model at one preset (with its
  content hash) and settings.

To add a command: resolve its request with :func:`resolve_model` / :func:`resolve_data` /
:func:`rshw.pipeline.hardware.expand_runs`, then call the stages it needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rshw.errors import OptionError

IMPORTED = "imported"  # the variant label of an imported graph (NIR file or framework module)
KINDS = ("zoo", "nir", "module")
"""What ``--model`` names: a zoo model, a ``.nir`` file, or a SpikingJelly / snnTorch module
(``FILE.py:FUNCTION``, or a saved description ``.json``; :mod:`rshw.importers.entry`)."""
STATIC_INPUT = {"once": "once", "every-step": "every_step"}
"""``--static-input`` spelling -> ``graph.meta["static_input"]``: a layer whose input is the same
at every step (the stem under direct encoding) is computed once, or at every step."""
STAND_IN_CALIBRATION = 64
"""Training images an untrained stand-in's BatchNorm statistics are calibrated on. 64 images give
every BN channel at least 64 × T × 8 × 8 samples in ResNet19's last stage, plenty for a
stand-in's statistics, and keep the calibration (a training-mode forward pass, the slowest step
of a cold `rshw simulate`) to a quarter of what 256 cost."""


@dataclass(frozen=True)
class Calibration:
    """The training split an untrained stand-in's BatchNorm statistics are calibrated on (its
    shape and classes also size the stand-in)."""

    dataset: str
    data: str | None
    source: str
    split: str
    size: int  # images in the split (the shuffle draws from all of them)
    images: int  # images calibrated on


@dataclass(frozen=True)
class ModelRecord:
    """Everything the folded graph depends on."""

    name: str  # a zoo name, a .nir path, FILE.py:FUNCTION or a description .json
    kind: str  # one of KINDS
    variant: str  # Real Spike granularity ("imported" for a NIR file or a module)
    checkpoint: str | None  # the checkpoint folded (explicit or shipped, or a module's weights)
    weights_sha256: str | None  # the checkpoint's weights hash, the NIR file's or the import's
    timesteps: int
    dt: float | None  # seconds per step of a .nir model (None: the file's, else nir_io's)
    static_input: str  # graph-meta spelling: "once" or "every_step"
    seed: int | None  # an untrained stand-in's seed (None: trained or imported)
    calibration: Calibration | None  # an untrained stand-in's BatchNorm data
    input_shape: tuple[int, ...] | None  # (C, H, W) a module is lowered for (None: not a module)
    sew: str | None  # a module's SEW ADD policy (rshw.importers.SEW_POLICIES; None: not a module)

    @property
    def imported(self) -> bool:
        return self.kind != "zoo"

    @property
    def stand_in(self) -> bool:
        return not self.imported and self.checkpoint is None


@dataclass(frozen=True)
class DataRecord:
    """Which images a trace sees: a seeded draw of ``images`` from a split, at T frames."""

    dataset: str
    data: str | None
    source: str  # where the split was read from
    split: str
    timesteps: int  # frames event data are binned into (the model's T)
    images: int
    seed: int
    images_id: str  # hash of the exact pixels and labels drawn


@dataclass(frozen=True)
class AccuracyRecord:
    """The test images (and calibration images, for input scales) a hardware's accuracy is
    measured on."""

    data: DataRecord
    calibration_images: int = 256


def checkpoint_timesteps(path: str | Path) -> int:
    from rshw.training.checkpoint import read_metadata

    return int(read_metadata(path)["model"]["timesteps"])


def decide_checkpoint(
    model: str, variant: str, dataset: str, ckpt: str | None, timesteps: int, say
) -> str | None:
    """The one checkpoint decision: an explicit ``ckpt`` (refused at another T); else the shipped
    one for ``model``/``dataset``/``variant`` when it was trained at ``timesteps`` (else one line
    says so); else None (an untrained stand-in)."""
    from rshw.pipeline.prepare import shipped_checkpoint

    if ckpt is not None:
        trained_t = checkpoint_timesteps(ckpt)
        if trained_t != timesteps:
            raise OptionError(
                f"checkpoint {ckpt} was trained with T={trained_t}, not the T={timesteps} "
                f"asked for: pass -T {trained_t} (the folded network runs at the T it was "
                "trained with)"
            )
        return str(ckpt)
    shipped = shipped_checkpoint(model, variant, dataset)
    if shipped is None:
        return None
    trained_t = checkpoint_timesteps(shipped)
    if trained_t != timesteps:  # another network than asked for: the stand-in
        say(
            f"the shipped checkpoint {shipped.name} was trained with T={trained_t}, not the "
            f"T={timesteps} asked for: pass -T {trained_t} to use it"
        )
        return None
    return str(shipped)


def resolve_model(
    model: str,
    variant: str,
    dataset: str,
    data: str | None = None,
    ckpt: str | None = None,
    timesteps: int = 4,
    seed: int = 0,
    dt: float | None = None,
    static_input: str = "once",
    calibration_images: int = STAND_IN_CALIBRATION,
    say=print,
    train=None,
    sew: str | None = None,
) -> ModelRecord:
    """The :class:`ModelRecord` of a request, every choice checked (no weights are loaded);
    ``train``: the training split, when the caller has it loaded already. ``sew``: how an
    imported module's SEW ADD sums are computed (None: ``split``; modules only)."""
    from rshw.importers.entry import import_fingerprint, is_import_spec
    from rshw.importers.lower import SEW_POLICIES
    from rshw.models import list_models
    from rshw.training.checkpoint import read_metadata
    from rshw.training.realspike import check_granularity

    if static_input not in STATIC_INPUT:
        raise OptionError(
            f"static input must be one of {', '.join(STATIC_INPUT)}, got {static_input!r}"
        )
    if timesteps < 1:
        raise OptionError(f"timesteps must be at least 1, got {timesteps}")
    common = {"name": model, "timesteps": timesteps, "static_input": STATIC_INPUT[static_input]}
    if is_import_spec(model):
        if dt is not None:
            raise OptionError(f"--dt applies to .nir models only, not {model!r}")
        sew = sew or SEW_POLICIES[0]
        if sew not in SEW_POLICIES:
            raise OptionError(f"--sew must be one of {', '.join(SEW_POLICIES)}, got {sew!r}")
        shape = train or load_split(dataset, data, "test", timesteps)
        return ModelRecord(
            **common,
            kind="module",
            variant=IMPORTED,
            checkpoint=None if ckpt is None else str(ckpt),
            weights_sha256=import_fingerprint(model, ckpt),
            dt=None,
            seed=None,
            calibration=None,
            input_shape=(shape.in_channels, *shape.input_size),
            sew=sew,
        )
    if sew is not None:
        raise OptionError(
            f"--sew applies to imported modules (FILE.py:FUNCTION or a description .json) "
            f"only, not {model!r}"
        )
    if model.endswith(".nir"):
        path = Path(model)
        if not path.is_file():
            raise OptionError(f"no NIR file at {model}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return ModelRecord(
            **common,
            kind="nir",
            variant=IMPORTED,
            checkpoint=None,
            weights_sha256=digest,
            dt=dt,
            seed=None,
            calibration=None,
            input_shape=None,
            sew=None,
        )
    if dt is not None:
        raise OptionError(f"--dt applies to .nir models only, not {model!r}")
    if model not in list_models():
        raise OptionError(
            f"unknown model {model!r}; known models: {', '.join(list_models())} "
            "(or a path to a .nir file, FILE.py:FUNCTION or a module description .json)"
        )
    check_granularity(variant)
    checkpoint = decide_checkpoint(model, variant, dataset, ckpt, timesteps, say)
    if checkpoint is not None:
        meta = read_metadata(checkpoint)
        if meta["model"]["name"] != model or meta["model"]["realspike"] != variant:
            raise OptionError(
                f"checkpoint {checkpoint} holds {meta['model']['name']} with "
                f"realspike={meta['model']['realspike']}, not {model}/{variant}"
            )
        return ModelRecord(
            **common,
            kind="zoo",
            variant=variant,
            checkpoint=checkpoint,
            weights_sha256=meta["weights_sha256"],
            dt=None,
            seed=None,
            calibration=None,
            input_shape=None,
            sew=None,
        )
    if calibration_images < 1:
        raise OptionError(f"calibration images must be >= 1, got {calibration_images}")
    train = train or load_split(dataset, data, "train", timesteps)
    calibration = Calibration(
        dataset, data, str(train.source), train.split, len(train), calibration_images
    )
    return ModelRecord(
        **common,
        kind="zoo",
        variant=variant,
        checkpoint=None,
        weights_sha256=None,
        dt=None,
        seed=seed,
        calibration=calibration,
        input_shape=None,
        sew=None,
    )


def images_id(split, images: int, seed: int) -> str:
    """A hash of the exact images (pixels and labels) a draw takes: what the data part of a key
    must capture (a data file replaced at the same path gives another id)."""
    subset = split.random_subset(images, seed)
    h = hashlib.sha256(np.ascontiguousarray(subset.x).tobytes())
    h.update(np.ascontiguousarray(subset.y).tobytes())
    return h.hexdigest()[:16]


def load_split(dataset: str, data: str | None, split: str, timesteps: int):
    """A dataset split as the model sees it: event data binned into the model's T frames."""
    from rshw.data import load_dataset

    return load_dataset(dataset, data, split, timesteps=timesteps)


def resolve_data(
    dataset: str,
    data: str | None,
    timesteps: int,
    images: int,
    seed: int,
    split: str = "test",
    loaded=None,
) -> DataRecord:
    """The :class:`DataRecord` of ``images`` images (seeded draw) of a split, loaded at the
    model's T; ``loaded``: the split, when the caller has it already."""
    if not isinstance(images, int) or isinstance(images, bool) or images < 1:
        raise OptionError(f"images must be >= 1 or 'auto', got {images}")
    loaded = loaded or load_split(dataset, data, split, timesteps)
    if images > len(loaded):
        raise OptionError(
            f"images must lie in 1..{len(loaded)} for {loaded.name!r} ({loaded.split}), "
            f"got {images}"
        )
    return DataRecord(
        dataset=dataset,
        data=data,
        source=str(loaded.source),
        split=loaded.split,
        timesteps=timesteps,
        images=images,
        seed=seed,
        images_id=images_id(loaded, images, seed),
    )


@dataclass(frozen=True)
class ImagesRule:
    """How many images: a number, or ``auto`` (double until every energy CI half-width is within
    ``ci_target`` of its mean, or the cap)."""

    images: int | str = 8
    ci_target: float = 0.01
    images_cap: int = 256

    def __post_init__(self) -> None:
        if self.images != "auto" and (
            not isinstance(self.images, int) or isinstance(self.images, bool) or self.images < 1
        ):
            raise OptionError(f"images must be >= 1 or 'auto', got {self.images}")
        if not 0 < self.ci_target < 1:
            raise OptionError(
                f"ci target is a fraction of the mean in (0, 1), got {self.ci_target}"
            )
        if self.images_cap < 2:
            raise OptionError(f"images cap must be >= 2, got {self.images_cap}")


@dataclass
class SimulateOptions:
    """A simulate request as the command line (or an analysis, or a sweep) states it."""

    model: str = "resnet19"
    variant: str = "channel"
    ckpt: str | None = None
    dt: float | None = None  # seconds per step of a .nir model (None: the file's, else 1e-4)
    sew: str | None = None  # an imported SEW ADD sum: binary terms or one multi-level input
    dataset: str = "cifar10-sample"
    data: str | None = None
    images: int | str = 8
    hardware: tuple[str, ...] = ()
    presets: dict[str, str] = field(default_factory=dict)
    timesteps: int = 4
    seed: int = 0
    out: str | None = None
    force: bool = False
    hw_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    static_input: str = "once"
    ci_target: float = 0.01
    images_cap: int = 256
    basis: str = "native"  # simulators/basis.py: each model as built, or the common basis


@dataclass(frozen=True)
class Plan:
    """A whole simulate request resolved: the model, the test images' rule, the hardware runs,
    where to write, and whether to recompute cached products."""

    model: ModelRecord
    dataset: str
    data: str | None
    images: ImagesRule
    seed: int
    runs: tuple[Any, ...]  # HardwareRun
    out: Path
    force: bool
    request: SimulateOptions = field(compare=False)
    basis: str = "native"  # the runs are re-based on it (rshw.pipeline.basis)

    def data_at(self, images: int, split) -> DataRecord:
        """The record of ``images`` test images of this plan (``split``: the loaded test split)."""
        return resolve_data(
            self.dataset, self.data, self.model.timesteps, images, self.seed, loaded=split
        )

    def test_split(self):
        return load_split(self.dataset, self.data, "test", self.model.timesteps)


def resolve(opts: SimulateOptions, say=print) -> Plan:
    """Check every option of a simulate request and resolve it into its records, before any
    work: hardware runs (presets, overrides, options), the image rule, then the model record
    (the checkpoint decision)."""
    from rshw.pipeline.basis import on_basis
    from rshw.pipeline.hardware import default_presets, default_settings, expand_runs

    hardware = tuple(opts.hardware)
    presets = {**default_presets(), **opts.presets}
    settings = {hw: default_settings(hw) for hw in hardware if hw in presets}
    for hw, given in opts.hw_options.items():
        settings.setdefault(hw, {}).update(given)
    runs = on_basis(expand_runs(hardware, presets, settings), opts.basis)
    images = ImagesRule(opts.images, opts.ci_target, opts.images_cap)
    model = resolve_model(
        opts.model,
        opts.variant,
        opts.dataset,
        opts.data,
        opts.ckpt,
        opts.timesteps,
        opts.seed,
        opts.dt,
        opts.static_input,
        say=say,
        sew=opts.sew,
    )
    return Plan(
        model,
        opts.dataset,
        opts.data,
        images,
        opts.seed,
        tuple(runs),
        Path(opts.out or f"results/simulate/{Path(opts.model).stem}-{model.variant}"),
        opts.force,
        opts,
        opts.basis,
    )
