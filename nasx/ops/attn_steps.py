"""The deployment schedule of the ``attn`` op (declared in :mod:`nasx.ops.attn`): ``ln1``
(norm), ``qkv`` (linear), ``sdpa`` (attention), ``o`` (linear, residual add fused), ``ln2``,
``fc1``, ``fc2`` (residual add fused).

Imported on first use by the registry, as :mod:`nasx.ops.conv_steps`.
"""

from __future__ import annotations

from nasx.predictors.cost.schedule import (
    WORD,
    Step,
    act_bytes,
    compute_dtype,
    linear_step,
    norm_step,
)
from nasx.predictors.devices.profile import ATTENTION


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
    sdpa = Step(f"{name}.sdpa", ATTENTION, compute_dtype(32, abits),
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
