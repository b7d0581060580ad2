"""The deployment schedule of a subnet: the steps a runtime executes, with their exact costs.

Every unit of the extracted network (stem conv, stage entry conv, block, head) becomes a short
list of :class:`Step` in execution order. BatchNorm is folded into the convolution before it,
ReLU/GELU/SiLU and residual adds are fused into the step that produces their input, and
activation quantizers sit at the input of the step that reads them, so a step is one kernel
of a device op class (:data:`~nasx.predictors.devices.profile.OP_CLASSES`):

=========  ==========================================================================
unit       steps
=========  ==========================================================================
conv-bn    ``conv`` (BN folded): :func:`conv_bn_steps`
block      its op's ``steps`` (:attr:`nasx.ops.OpDef.steps`, ``nasx/ops/<op>_steps.py``)
head       ``pool``, ``classifier`` (linear, float): :func:`head_steps`
=========  ==========================================================================

This module holds the step primitives the ops' schedules are built from (:func:`weight_step`,
:func:`linear_step`, :func:`norm_step`, :func:`layer_flash`).

Sizes (all exact integers):

- activation element: ``ceil(abits / 8)`` bytes (8 -> 1, 32 -> 4); a tensor takes the abits of
  the unit that produces it; the network input takes the stem's.
- scratch and recurrent state are 4-byte words (int32 accumulators / fp32), whatever the bits.
- flash of a weight layer: weights packed at ``wbits`` (``ceil(numel * wbits / 8)`` per tensor),
  one 4-byte bias per output channel (int32 when quantized, fp32 when float; for a conv this is
  the folded BatchNorm), one fp32 scale per output channel and weight tensor when
  ``wbits < 32``, one fp32 input-activation scale when ``abits < 32``. LayerNorm: fp32 weight
  and bias. Classifier: fp32 weights and bias. An op's own tensors: its ``steps`` module.
- live bytes of a step: its input + its output + its scratch + the residual it does not read
  but which a later add does (``pinned``). Whole-sequence peak SRAM = max over steps. Streaming
  (one frame at a time: every activation is one column) peak = sum of every step's persistent
  ``state`` + max over steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasx.predictors.devices.profile import CONV, LINEAR, NORM, POOL

WORD = 4  # bytes of a scratch / state / bias / scale word


def act_bytes(bits: int) -> int:
    """Bytes of one activation element at ``bits`` (not packed below 8 bits)."""
    return (bits + 7) // 8


def packed_bytes(numel: int, bits: int) -> int:
    """Bytes of ``numel`` weights packed at ``bits`` each."""
    return (numel * bits + 7) // 8


def compute_dtype(wbits: int, abits: int) -> str:
    """``int4`` / ``int8`` when weights and activations are integer (<= 8 bits), else ``fp32``."""
    if abits <= 8 and wbits <= 8:
        return "int4" if wbits <= 4 else "int8"
    return "fp32"


@dataclass(frozen=True)
class Step:
    """One kernel of the deployment schedule.

    ``work`` is what its latency scales with: MACs, or elements for ``norm`` and ``pool``.
    """

    name: str
    op_class: str
    dtype: str
    macs: int
    work: int
    in_bytes: int
    out_bytes: int
    scratch_bytes: int = 0
    pinned_bytes: int = 0
    state_bytes: int = 0
    flash_bytes: int = 0
    params: int = 0
    wbits: int = 32

    @property
    def live_bytes(self) -> int:
        """Bytes live while the step runs (persistent state excluded)."""
        return self.in_bytes + self.out_bytes + self.scratch_bytes + self.pinned_bytes


def layer_flash(tensors: tuple[int, ...], rows: int, wbits: int, abits: int,
                bias: int | None = None) -> int:
    """Flash bytes of a weight layer: ``tensors`` (numel of each weight tensor) packed, biases,
    per-output-channel scales (``rows`` per tensor) and the input-activation scale."""
    weights = sum(packed_bytes(n, wbits) for n in tensors)
    scales = WORD * rows * len(tensors) if wbits < 32 else 0
    return weights + WORD * (rows if bias is None else bias) + scales + (WORD if abits < 32 else 0)


def weight_step(name: str, op_class: str, macs: int, in_b: int, out_b: int, pinned: int,
                 flash: int, params: int, wbits: int, abits: int, **kw: int) -> Step:
    """A weight layer of device op class ``op_class`` whose work is its ``macs``, computed in
    the dtype of its bits (``kw``: scratch, state bytes)."""
    return Step(name, op_class, compute_dtype(wbits, abits), macs, macs, in_b, out_b,
                pinned_bytes=pinned, flash_bytes=flash, params=params, wbits=wbits, **kw)


def linear_step(name: str, cin: int, cout: int, t: int, ab: int, in_b: int, pinned: int,
            wbits: int, abits: int) -> Step:
    """A Linear ``cin -> cout`` with bias over ``t`` steps."""
    return weight_step(name, LINEAR, cout * cin * t, in_b, cout * t * ab, pinned,
                        layer_flash((cout * cin,), cout, wbits, abits), cout * cin + cout,
                        wbits, abits)


def norm_step(name: str, width: int, t: int, in_b: int, ab: int) -> Step:
    """A LayerNorm over ``width`` channels of ``t`` steps (fp32 weight and bias)."""
    return Step(name, NORM, "fp32", 0, width * t, in_b, width * t * ab,
                flash_bytes=2 * WORD * width, params=2 * width)


def conv_bn_steps(name: str, cin: int, cout: int, k: int, stride: int, wbits: int, abits: int,
                  in_elem: int, length: int, streaming: bool) -> list[Step]:
    """Stem / entry conv: ``(cin, L) -> (cout, ceil(L / stride))``, BN folded, ReLU fused."""
    t_in, t_out = (1, 1) if streaming else (length, -(-length // stride))
    ring = (k - 1) * cin * in_elem if streaming else 0
    return [weight_step(f"{name}.conv", CONV, cout * cin * k * t_out, cin * t_in * in_elem,
                         cout * t_out * act_bytes(abits), 0,
                         layer_flash((cout * cin * k,), cout, wbits, abits),
                         cout * cin * k + 2 * cout, wbits, abits, state_bytes=ring)]


def head_steps(width: int, classes: int, in_elem: int, length: int,
               streaming: bool) -> list[Step]:
    """Masked mean pool + float classifier.

    Whole-sequence: ``pool`` reads ``(W, L)`` and writes an fp32 ``(W,)``. Streaming: each frame
    is added into a persistent fp32 sum (``4W`` bytes of state) that the classifier reads.
    """
    cls_flash, cls_params = WORD * (classes * width + classes), classes * width + classes
    if streaming:
        pool = Step("head.pool", POOL, "fp32", 0, width, width * in_elem, 0,
                    state_bytes=WORD * width)
        cls_in = 0
    else:
        pool = Step("head.pool", POOL, "fp32", 0, width * length, width * length * in_elem,
                    WORD * width)
        cls_in = WORD * width
    classifier = Step("head.classifier", LINEAR, "fp32", classes * width, classes * width,
                      cls_in, WORD * classes, flash_bytes=cls_flash, params=cls_params)
    return [pool, classifier]
