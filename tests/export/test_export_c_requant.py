"""Fixed-point requantisation parameters of the C runtime's int8 chain: ``(acc * mult + bias) /
2^(31 + shift)`` (the bias on the output scale, int64) equals the float path
``round(relu(acc * s_in * s_w + b) / s_next)`` on every one of 300 x channels sums."""

from __future__ import annotations

import torch
from export_helpers import exported, op_arch, tiny_space, warmed

from nasx.export.mcu.arena import requant_params


def _fixed_point(acc: torch.Tensor, mult: list[int], shift: list[int], bias: list[int],
                 relu: bool, qmax: int) -> torch.Tensor:
    """What nasx_requantize computes, in Python integers (round half away from zero)."""
    out = torch.empty_like(acc)
    for (i, o), a in zip(((i, o) for i in range(acc.shape[0]) for o in range(acc.shape[1])),
                         acc.reshape(-1).tolist(), strict=True):
        n = 31 + shift[o]
        v = int(a) * mult[o] + bias[o]
        q = (abs(v) + (1 << (n - 1))) >> n
        q = q if v >= 0 else -q
        out[i, o] = max(0 if relu else -qmax, min(qmax, q))
    return out


def test_requantisation_matches_the_float_grid() -> None:
    space = tiny_space()
    arch = op_arch(space, "conv", wbits=8, abits=8)
    block = exported(warmed(space, [arch]), arch).stages[0].blocks[0]
    layer, nxt = block.pw1, block.dw
    mult, shift, bias = requant_params(layer, nxt)
    assert all(2**30 <= m < 2**31 for m in mult) and all(s >= 0 for s in shift)
    g = torch.Generator().manual_seed(0)
    q_in = torch.randint(-127, 128, (300, layer.weight.shape[1]), generator=g).double()
    acc = q_in @ layer.weight.codes.double().reshape(layer.weight.shape[0], -1).t()  # (N, O)
    s_acc = layer.act.scale_value * layer.weight.scale.double()
    y = torch.relu(acc * s_acc + layer.bias.double())
    want = torch.clamp(torch.round(y / nxt.act.scale_value), -127, 127)
    got = _fixed_point(acc, mult, shift, bias, relu=True, qmax=127)
    assert torch.equal(got, want)
    assert float(got.min()) == 0.0  # the ReLU is the lower clamp
