"""The device profile as typed, validated, immutable data (see
:mod:`nasx.predictors.devices.registry`).

A profile says what a deployment target can hold (SRAM regions, flash, DRAM), how fast it
computes (clock, peak MACs/s per dtype, sustained efficiency per op class and dtype), what its
runtime costs (engine flash/SRAM, a fixed time per op) and which bit-widths it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasx.predictors.devices.mcu_fit import McuFit

# Device classes; an ``mcu`` is costed analytically, ``cpu``/``gpu`` with a roofline estimate.
DEVICE_CLASSES: tuple[str, ...] = ("mcu", "cpu", "gpu")

# Op classes of the deployment schedule (:mod:`nasx.predictors.cost.schedule` and each op's
# ``steps``), the keys of a profile's ``efficiency``. ``norm`` and ``pool`` are element-wise:
# their work is counted in elements, every other class in MACs. A device vocabulary, not the op
# names (ops map onto it: ``conv`` runs as conv + dwconv, ``gru`` as lstm, ``mamba`` as conv,
# dwconv, linear and ssm); written once here, and everywhere else by the names below.
OP_CLASSES: tuple[str, ...] = (
    "conv", "dwconv", "linear", "lstm", "ssm", "attention", "norm", "pool"
)
CONV, DWCONV, LINEAR, LSTM, SSM, ATTENTION, NORM, POOL = OP_CLASSES
# Op classes with weights: a profile lists the weight bit-widths it runs for each
# (``bits.weights``); an op's ``weight_classes`` name which of them its weights run as.
WEIGHT_OP_CLASSES: tuple[str, ...] = (CONV, DWCONV, LINEAR, LSTM)

# Compute dtypes: a layer runs ``int8`` when wbits <= 8 and abits <= 8 (``int4`` when wbits <= 4),
# else ``fp32``. Profiles must give ``int8`` and ``fp32``; ``int4`` falls back to ``int8``.
DTYPES: tuple[str, ...] = ("int4", "int8", "fp32")
REQUIRED_DTYPES: tuple[str, ...] = ("int8", "fp32")

# Runtimes a latency can be for: ``onnxruntime`` (the exported ``model.onnx``), ``torch`` (eager
# PyTorch on the extracted subnet), ``pt2`` (the ``torch.export`` program of ``model.pt2``) and
# ``c`` (the C99 runtime of ``nasx export --format c``). The default of a device class is what
# its users deploy: onnxruntime on a CPU or GPU, the C runtime on an MCU.
RUNTIMES: tuple[str, ...] = ("onnxruntime", "torch", "pt2", "c")
DEFAULT_RUNTIME: dict[str, str] = {"mcu": "c", "cpu": "onnxruntime", "gpu": "onnxruntime"}


@dataclass(frozen=True)
class MemoryRegion:
    """One on-chip SRAM region."""

    name: str
    bytes: int


@dataclass(frozen=True)
class DeviceProfile:
    """A validated device profile.

    ``efficiency[op_class][dtype]`` is sustained MACs (elements for norm/pool) per cycle on an
    ``mcu``, and a fraction of ``peak_macs_per_s[dtype]`` on a ``cpu``/``gpu``.
    ``activation_sram_bytes`` is the size of the region that holds activations and state
    (``memory.activation_region``); 0 on devices whose activations live in DRAM. ``runtime``
    and ``batch`` say what its latency is for: the runtime that runs the model and the
    sequences per call.
    """

    name: str
    device_class: str
    description: str
    clock_hz: float
    sram: tuple[MemoryRegion, ...]
    activation_region: str
    flash_bytes: int
    dram_bytes: int
    bandwidth_bytes_per_s: float
    peak_macs_per_s: dict[str, float]
    efficiency: dict[str, dict[str, float]]
    engine_flash_bytes: int
    engine_sram_bytes: int
    per_op_s: float
    weight_bits: dict[str, tuple[int, ...]]
    act_bits: tuple[int, ...]
    provenance: str
    source: str = "<memory>"
    runtime: str = "onnxruntime"  # what its latency is for (:data:`RUNTIMES`)
    batch: int = 1  # sequences per forward call its latency is for
    fit: McuFit | None = None  # an MCU's cost model fitted to Cortex-M7 measurements

    def __hash__(self) -> int:  # dict fields make the default dataclass hash fail
        return hash((self.name, self.source))

    @property
    def activation_sram_bytes(self) -> int:
        """Bytes of the SRAM region that holds activations (0 when there is none)."""
        for region in self.sram:
            if region.name == self.activation_region:
                return region.bytes
        return 0

    @property
    def is_mcu(self) -> bool:
        """True for microcontrollers (analytic latency), False for CPUs/GPUs (roofline)."""
        return self.device_class == "mcu"

    def efficiency_of(self, op_class: str, dtype: str) -> float:
        """Sustained efficiency of ``op_class`` at ``dtype`` (``int4`` falls back to ``int8``)."""
        row = self.efficiency[op_class]
        return row[dtype] if dtype in row else row["int8"]

    def peak_of(self, dtype: str) -> float:
        """Peak MACs/s at ``dtype`` (``int4`` falls back to ``int8``)."""
        return self.peak_macs_per_s.get(dtype, self.peak_macs_per_s["int8"])
