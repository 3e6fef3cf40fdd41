"""GPU configs: a datasheet preset plus a separate file of fitted factors, both TOML data.

A preset (``presets/NAME.toml``) holds what a vendor publishes (SMs, clock, tensor-core rates,
memories, power) and per-operation energy estimates, every value with its unit and source. The
factors that no datasheet gives (how close kernels get to those peaks, the host's cost per
launched op) are fitted to measurements by :mod:`simulators.gpu.fit` and live apart in
``presets/fitted/FIT.toml``; a preset names the fit it uses (its own, or one transferred from
another GPU, which its ``fitted`` source says; a ``.toml`` name is a file beside the preset).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulators.config import ConfigError, load_preset, preset_path, require, unit_field
from simulators.config import preset_names as _preset_names

PRESETS = Path(__file__).parent / "presets"
FITTED = PRESETS / "fitted"

# Element sizes of the supported data types; spikes travel in the same type as activations.
DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4, "tf32": 4, "int8": 1}
# Which unit does the math, as PyTorch runs it by default: cuDNN convolutions take TF32 for fp32
# tensors (torch.backends.cudnn.allow_tf32 = True), cuBLAS matmuls stay on FP32 CUDA cores
# (torch.backends.cuda.matmul.allow_tf32 = False).
MATH = {
    "conv": {"bf16": "bf16", "fp16": "fp16", "fp32": "tf32", "tf32": "tf32", "int8": "int8"},
    "matmul": {"bf16": "bf16", "fp16": "fp16", "fp32": "fp32", "tf32": "tf32", "int8": "int8"},
}


_field = unit_field
FRACTIONS = (
    "tensor_efficiency",
    "direct_conv_efficiency",
    "stream_efficiency",
    "scattered_efficiency",
)
HOST = ("op_overhead_us", "library_overhead_us", "launch_overhead_us")
HOST_BASES = ("measured", "projection")


@dataclass(frozen=True)
class GpuSpec:
    """Datasheet numbers and energy estimates of one GPU (see each preset's sources)."""

    name: str
    fitted: str = _field("")
    sm_count: int = _field("count")
    clock_mhz: float = _field("MHz")
    tensor_bf16_macs_per_cycle_per_sm: int = _field("MAC/cycle/SM")
    tensor_fp16_macs_per_cycle_per_sm: int = _field("MAC/cycle/SM")
    tensor_tf32_macs_per_cycle_per_sm: int = _field("MAC/cycle/SM")
    tensor_int8_macs_per_cycle_per_sm: int = _field("MAC/cycle/SM")
    fp32_fmas_per_cycle_per_sm: int = _field("FMA/cycle/SM")
    register_file_kib_per_sm: int = _field("KiB")
    shared_memory_kib_per_sm: int = _field("KiB")
    max_threads_per_sm: int = _field("count")
    max_ctas_per_sm: int = _field("count")
    l2_mib: float = _field("MiB")
    l2_partitions: int = _field("count")
    l2_bytes_per_cycle: float = _field("B/cycle")
    dram_gb_s: float = _field("GB/s")
    dram_gb: float = _field("GB")
    dram_fetch_bytes: int = _field("B")
    memory_latency_cycles: int = _field("cycles")
    mac_pj_bf16: float = _field("pJ")
    mac_pj_fp16: float = _field("pJ")
    mac_pj_tf32: float = _field("pJ")
    mac_pj_int8: float = _field("pJ")
    fma_pj_fp32: float = _field("pJ")
    dram_pj_per_bit: float = _field("pJ/bit")
    l2_pj_per_bit: float = _field("pJ/bit")
    smem_pj_per_bit: float = _field("pJ/bit")
    static_w: float = _field("W")
    board_w: float = _field("W")
    # The host: "measured" (the host costs were fitted or measured on this GPU's own host) or
    # "projection" (no measurement of this host class: the fit's host costs x host_slowdown,
    # the preset's CPU against the fit's measuring host; every report and table shows it).
    host: str = _field("")
    host_slowdown: float = _field("ratio", default=1.0)
    # The host's costs (CPU, driver, PyTorch) where the preset knows its own host; None: the
    # fit's, times host_slowdown (see HOST in the fitted file).
    op_overhead_us: float | None = _field("us", default=None)
    library_overhead_us: float | None = _field("us", default=None)
    launch_overhead_us: float | None = _field("us", default=None)

    def __post_init__(self) -> None:
        require(isinstance(self.name, str) and bool(self.name), "name", "a non-empty string")
        require(isinstance(self.fitted, str) and bool(self.fitted), "fitted", "a fit's name")
        require(self.host in HOST_BASES, "host", f"one of {HOST_BASES}")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("name", "fitted", "host") or (f.name in HOST and value is None):
                continue
            if f.type == "int":
                require(_is_int(value) and value >= 1, f.name, "an integer >= 1")
            elif f.name in ("static_w", *HOST):
                require(_is_number(value) and value >= 0, f.name, "a number >= 0")
            else:
                require(_is_number(value) and value > 0, f.name, "a number > 0")
        require(self.static_w <= self.board_w, "static_w", "at most board_w")

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    @property
    def l2_bytes(self) -> float:
        return self.l2_mib * 2**20

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram_gb_s * 1e9 / self.clock_hz

    def tensor_macs_per_cycle(self, math: str) -> int:
        """MACs per cycle per SM of the unit doing ``math`` (a key of :data:`MATH` values)."""
        if math == "fp32":
            return self.fp32_fmas_per_cycle_per_sm
        return getattr(self, f"tensor_{math}_macs_per_cycle_per_sm")

    def mac_pj(self, math: str) -> float:
        return self.fma_pj_fp32 if math == "fp32" else getattr(self, f"mac_pj_{math}")


@dataclass(frozen=True)
class Fitted:
    """Factors fitted to real-GPU timings (efficiencies are fractions of the datasheet peaks)."""

    name: str
    tensor_efficiency: float = _field("fraction")
    direct_conv_efficiency: float = _field("fraction")
    stream_efficiency: float = _field("fraction")
    scattered_efficiency: float = _field("fraction")
    broadcast_ops_per_element: float = _field("op")
    op_overhead_us: float = _field("us")
    library_overhead_us: float = _field("us")
    launch_overhead_us: float = _field("us")

    def __post_init__(self) -> None:
        require(isinstance(self.name, str) and bool(self.name), "name", "a non-empty string")
        for key in FRACTIONS:
            value = getattr(self, key)
            require(_is_number(value) and 0 < value <= 1, key, "a fraction in (0, 1]")
        for key in ("broadcast_ops_per_element", *HOST):
            value = getattr(self, key)
            require(_is_number(value) and value >= 0, key, "a number >= 0")

    def efficiency(self, kernel: Any) -> float:
        """The fraction of its unit's peak a kernel's mainloop reaches."""
        if kernel.mainloop == "direct":
            return self.direct_conv_efficiency
        return self.tensor_efficiency


@dataclass(frozen=True)
class GpuConfig:
    """One GPU as the model sees it: the datasheet spec, the fitted factors, and their sources."""

    spec: GpuSpec
    fit: Fitted
    sources: dict = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def us_to_cycles(self, us: float) -> float:
        return us * 1e-6 * self.spec.clock_hz

    def as_dict(self) -> dict[str, Any]:
        return {
            "spec": dataclasses.asdict(self.spec),
            "fitted": dataclasses.asdict(self.fit),
            "sources": self.sources,
        }


def preset_names() -> list[str]:
    """Names of the GPU presets shipped with rshw."""
    return _preset_names(PRESETS)


def load_config(
    name_or_path: str | Path | GpuConfig = "h200", overrides: dict[str, Any] | None = None
) -> GpuConfig:
    """A preset by name or TOML path, with its fitted factors; ``overrides`` replace any key
    of either (plain numbers in the key's unit)."""
    if isinstance(name_or_path, GpuConfig):
        if not overrides:
            return name_or_path
        spec_keys = {f.name for f in dataclasses.fields(GpuSpec)}
        fit_keys = {f.name for f in dataclasses.fields(Fitted)}
        _check_override_keys(overrides, spec_keys | fit_keys)
        try:
            spec = dataclasses.replace(
                name_or_path.spec, **{k: v for k, v in overrides.items() if k in spec_keys}
            )
            fit = dataclasses.replace(
                name_or_path.fit,
                **{k: v for k, v in overrides.items() if k in fit_keys and k != "name"},
            )
        except (TypeError, ValueError) as e:
            raise ConfigError(f"override: {e}") from None
        # its fit already holds the host costs (scaled by host_slowdown when it was loaded)
        return _with_host(GpuConfig(spec, fit, name_or_path.sources), {}, scaled=True)
    overrides = dict(overrides or {})
    spec_keys = {f.name for f in dataclasses.fields(GpuSpec)}
    fit_keys = {f.name for f in dataclasses.fields(Fitted)} - {"name"}
    _check_override_keys(overrides, spec_keys | fit_keys)
    path = preset_path(PRESETS, name_or_path)
    spec, spec_sources = load_preset(
        GpuSpec, path, {k: v for k, v in overrides.items() if k in spec_keys}
    )
    fit_path = (
        path.parent / spec.fitted
        if spec.fitted.endswith(".toml")
        else FITTED / f"{spec.fitted}.toml"
    )
    if not fit_path.is_file():
        fits = ", ".join(sorted(p.stem for p in FITTED.glob("*.toml")))
        raise ConfigError(f"key 'fitted': no fit named {spec.fitted!r}; fits: {fits}")
    fit, fit_sources = load_preset(
        Fitted, fit_path, {k: v for k, v in overrides.items() if k in fit_keys}
    )
    return _with_host(GpuConfig(spec, fit, fit_sources), spec_sources)


def _with_host(config: GpuConfig, spec_sources: dict, scaled: bool = False) -> GpuConfig:
    """The preset's own host overheads, where it gives them, replace its fit's; the others are
    the fit's times the preset's ``host_slowdown`` (unless ``scaled`` already)."""
    spec = config.spec
    slowdown = 1.0 if scaled else spec.host_slowdown
    host = {
        k: getattr(spec, k) if getattr(spec, k) is not None else getattr(config.fit, k) * slowdown
        for k in HOST
    }
    fit = dataclasses.replace(config.fit, **host)
    return GpuConfig(config.spec, fit, {**config.sources, **spec_sources})


def _check_override_keys(overrides: dict[str, Any], allowed: set[str]) -> None:
    for key in overrides:
        if key not in allowed:
            raise ConfigError(f"override: unknown key {key!r}; allowed keys: {sorted(allowed)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
