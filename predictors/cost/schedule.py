"""The deployment schedule of a subnet: the steps a runtime executes, with their exact costs.

Every unit of the extracted network (stem conv, stage entry conv, block, head) becomes a short
list of :class:`Step` in execution order. BatchNorm is folded into the convolution before it,
ReLU/GELU/SiLU and residual adds are fused into the step that produces their input, and
activation quantizers sit at the input of the step that reads them, so a step is one kernel:

=========  ==========================================================================
unit       steps
=========  ==========================================================================
conv-bn    ``conv`` (BN folded)
conv       ``pw1`` (conv), ``dw`` (dwconv), ``pw2`` (conv, residual add fused)
lstm       ``ln`` (norm), ``lstm``, ``proj`` (linear, residual add fused)
ssm        ``ln``, ``in_proj`` (linear), ``scan`` (ssm, gate fused), ``out_proj`` (linear)
attn       ``ln1``, ``qkv``, ``sdpa`` (attention), ``o``, ``ln2``, ``fc1``, ``fc2``
head       ``pool``, ``classifier`` (linear, float)
=========  ==========================================================================

Sizes (all exact integers):

- activation element: ``ceil(abits / 8)`` bytes (8 -> 1, 32 -> 4); a tensor takes the abits of
  the unit that produces it; the network input takes the stem's.
- scratch and recurrent state are 4-byte words (int32 accumulators / fp32), whatever the bits.
- flash of a weight layer: weights packed at ``wbits`` (``ceil(numel * wbits / 8)`` per tensor),
  one 4-byte bias per output channel (int32 when quantized, fp32 when float; for a conv this is
  the folded BatchNorm), one fp32 scale per output channel and weight tensor when
  ``wbits < 32``, one fp32 input-activation scale when ``abits < 32``. LayerNorm: fp32 weight
  and bias. SSM: ``exp(dt A)``, ``dt B``, ``C`` (``E x N`` each) and ``D`` (``E``), fp32. LSTM:
  ``b_ih + b_hh`` stored as one bias. Classifier: fp32 weights and bias.
- live bytes of a step: its input + its output + its scratch + the residual it does not read
  but which a later add does (``pinned``). Whole-sequence peak SRAM = max over steps. Streaming
  (one frame at a time: every activation is one column) peak = sum of every step's persistent
  ``state`` + max over steps.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    return Step(name, op_class, compute_dtype(wbits, abits), macs, macs, in_b, out_b,
                pinned_bytes=pinned, flash_bytes=flash, params=params, wbits=wbits, **kw)


def linear_step(name: str, cin: int, cout: int, t: int, ab: int, in_b: int, pinned: int,
            wbits: int, abits: int) -> Step:
    """A Linear ``cin -> cout`` with bias over ``t`` steps."""
    return weight_step(name, "linear", cout * cin * t, in_b, cout * t * ab, pinned,
                        layer_flash((cout * cin,), cout, wbits, abits), cout * cin + cout,
                        wbits, abits)


def norm_step(name: str, width: int, t: int, in_b: int, ab: int) -> Step:
    """A LayerNorm over ``width`` channels of ``t`` steps (fp32 weight and bias)."""
    return Step(name, "norm", "fp32", 0, width * t, in_b, width * t * ab,
                flash_bytes=2 * WORD * width, params=2 * width)


def conv_bn_steps(name: str, cin: int, cout: int, k: int, stride: int, wbits: int, abits: int,
                  in_elem: int, length: int, streaming: bool) -> list[Step]:
    """Stem / entry conv: ``(cin, L) -> (cout, ceil(L / stride))``, BN folded, ReLU fused."""
    t_in, t_out = (1, 1) if streaming else (length, -(-length // stride))
    ring = (k - 1) * cin * in_elem if streaming else 0
    return [weight_step(f"{name}.conv", "conv", cout * cin * k * t_out, cin * t_in * in_elem,
                         cout * t_out * act_bytes(abits), 0,
                         layer_flash((cout * cin * k,), cout, wbits, abits),
                         cout * cin * k + 2 * cout, wbits, abits, state_bytes=ring)]


def mbconv_steps(name: str, width: int, hidden: int, k: int, wbits: int, abits: int,
                 in_elem: int, length: int, streaming: bool) -> list[Step]:
    """MBConv: ``pw1 (W -> H)``, ``dw (H, k)``, ``pw2 (H -> W)`` + residual; BN folded."""
    t = 1 if streaming else length
    ab, x = act_bytes(abits), width * t * in_elem
    h = hidden * t * ab
    ring = (k - 1) * hidden * ab if streaming else 0
    return [
        weight_step(f"{name}.pw1", "conv", hidden * width * t, x, h, 0,
                     layer_flash((hidden * width,), hidden, wbits, abits),
                     hidden * width + 2 * hidden, wbits, abits),
        weight_step(f"{name}.dw", "dwconv", hidden * k * t, h, h, x,
                     layer_flash((hidden * k,), hidden, wbits, abits),
                     hidden * k + 2 * hidden, wbits, abits, state_bytes=ring),
        weight_step(f"{name}.pw2", "conv", width * hidden * t, h, width * t * ab, x,
                     layer_flash((width * hidden,), width, wbits, abits),
                     width * hidden + 2 * width, wbits, abits),
    ]


def lstm_steps(name: str, width: int, hidden: int, wbits: int, abits: int, in_elem: int,
               length: int, streaming: bool) -> list[Step]:
    """LSTM block: ``ln``, ``lstm (W -> H)``, ``proj (H -> W)`` + residual.

    Scratch: the 4H gate pre-activations; whole-sequence also ``c`` (H), since ``h[t-1]`` is the
    previous column of the output. Streaming: ``h`` and ``c`` (2H) are persistent state.
    """
    t = 1 if streaming else length
    ab, x = act_bytes(abits), width * t * in_elem
    n, o = width * t * ab, hidden * t * ab
    scratch = WORD * 4 * hidden if streaming else WORD * 5 * hidden
    lstm = weight_step(
        f"{name}.lstm", "lstm", 4 * hidden * (width + hidden) * t, n, o, x,
        layer_flash((4 * hidden * width, 4 * hidden * hidden), 4 * hidden, wbits, abits,
                    bias=4 * hidden),
        4 * hidden * (width + hidden) + 8 * hidden, wbits, abits,
        scratch_bytes=scratch, state_bytes=WORD * 2 * hidden if streaming else 0)
    return [norm_step(f"{name}.ln", width, t, x, ab), lstm,
            linear_step(f"{name}.proj", hidden, width, t, ab, o, x, wbits, abits)]


def ssm_steps(name: str, width: int, inner: int, state: int, wbits: int, abits: int,
              in_elem: int, length: int, streaming: bool) -> list[Step]:
    """SSM block: ``ln``, ``in_proj (W -> 2E)``, ``scan``, ``out_proj (E -> W)`` + residual.

    The scan costs ``3N + 2`` MACs per channel and step (``exp(dt A) h + dt B u``, ``C h``,
    ``D u``, the gate) and keeps its ``E x N`` state in 4-byte words (scratch; persistent when
    streaming).
    """
    t = 1 if streaming else length
    ab, x = act_bytes(abits), width * t * in_elem
    uz, y = 2 * inner * t * ab, inner * t * ab
    h = WORD * inner * state
    scan = Step(f"{name}.scan", "ssm", "fp32", (3 * state + 2) * inner * t,
                (3 * state + 2) * inner * t, uz, y, scratch_bytes=0 if streaming else h,
                pinned_bytes=x, state_bytes=h if streaming else 0,
                flash_bytes=WORD * (3 * inner * state + inner),
                params=3 * inner * state + 2 * inner)
    return [
        norm_step(f"{name}.ln", width, t, x, ab),
        linear_step(f"{name}.in_proj", width, 2 * inner, t, ab, width * t * ab, x, wbits, abits),
        scan,
        linear_step(f"{name}.out_proj", inner, width, t, ab, y, x, wbits, abits),
    ]


def attn_steps(name: str, width: int, heads: int, head_dim: int, ffn: int, wbits: int,
               abits: int, in_elem: int, length: int, streaming: bool) -> list[Step]:
    """Attention block: ``ln1``, ``qkv``, ``sdpa``, ``o`` (+ residual), ``ln2``, ``fc1``, ``fc2``
    (+ residual).

    Whole-sequence ``sdpa`` keeps the ``heads x L x L`` scores (4-byte words) and costs
    ``2 heads L^2 d`` MACs (dense, also when causal). Streaming: one query against a key/value
    cache of the stage length ``L`` (``2 x heads x d x L`` activations, persistent), scores
    ``heads x L``.
    """
    t = 1 if streaming else length
    ab, x = act_bytes(abits), width * t * in_elem
    inner = heads * head_dim
    n, x2 = width * t * ab, width * t * ab
    scores = heads * t * length
    sdpa = Step(f"{name}.sdpa", "attention", compute_dtype(32, abits),
                2 * scores * head_dim, 2 * scores * head_dim, 3 * inner * t * ab,
                inner * t * ab, scratch_bytes=WORD * scores, pinned_bytes=x,
                state_bytes=2 * inner * length * ab if streaming else 0)
    return [
        norm_step(f"{name}.ln1", width, t, x, ab),
        linear_step(f"{name}.qkv", width, 3 * inner, t, ab, n, x, wbits, abits),
        sdpa,
        linear_step(f"{name}.o", inner, width, t, ab, inner * t * ab, x, wbits, abits),
        norm_step(f"{name}.ln2", width, t, x2, ab),
        linear_step(f"{name}.fc1", width, ffn, t, ab, n, x2, wbits, abits),
        linear_step(f"{name}.fc2", ffn, width, t, ab, ffn * t * ab, x2, wbits, abits),
    ]


def head_steps(width: int, classes: int, in_elem: int, length: int,
               streaming: bool) -> list[Step]:
    """Masked mean pool + float classifier.

    Whole-sequence: ``pool`` reads ``(W, L)`` and writes an fp32 ``(W,)``. Streaming: each frame
    is added into a persistent fp32 sum (``4W`` bytes of state) that the classifier reads.
    """
    cls_flash, cls_params = WORD * (classes * width + classes), classes * width + classes
    if streaming:
        pool = Step("head.pool", "pool", "fp32", 0, width, width * in_elem, 0,
                    state_bytes=WORD * width)
        cls_in = 0
    else:
        pool = Step("head.pool", "pool", "fp32", 0, width * length, width * length * in_elem,
                    WORD * width)
        cls_in = WORD * width
    classifier = Step("head.classifier", "linear", "fp32", classes * width, classes * width,
                      cls_in, WORD * classes, flash_bytes=cls_flash, params=cls_params)
    return [pool, classifier]
