"""Gradients reach only the active slices of the shared weights (one test per op type)."""

from __future__ import annotations

import pytest
import torch
from supernet_helpers import padded_batch

from nasx.search_spaces import space_from_dict
from nasx.supernet import Supernet


def _space(op: str) -> object:
    return space_from_dict({
        "name": f"grad-{op}",
        "stem": {"width": [4, 8], "kernel": [3, 5]},
        "stages": [{"depth": [1, 2], "width": [6, 10], "ops": [op]}],
        "ops": {"conv": {"kernel": [3, 5, 7], "expand": [1, 2]},
                "lstm": {"hidden": [0.5, 1.0]},
                "ssm": {"state": [2, 4], "expand": [1, 2]},
                "attn": {"heads": [1, 3], "head_dim": 4, "ffn": [1, 2]}},
        "quant": {"weight_bits": [8, 32], "act_bits": [8, 32]},
    })


# The arch under test: small width (6 of 10), first slot of two, small inner choices.
CHOICES = {
    "conv": {"kernel": 3, "expand": 1},
    "lstm": {"hidden": 0.5},
    "ssm": {"state": 2, "expand": 1},
    "attn": {"heads": 1, "ffn": 1},
}


def _grads(op: str, wbits: int) -> tuple[Supernet, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    space = _space(op)
    net = Supernet(space, 3, 4).train()
    block = {"op": op, **CHOICES[op], "wbits": wbits, "abits": 32}
    arch = {"stem": {"width": 4, "kernel": 3, "stride": 1, "wbits": 32, "abits": 32},
            "stages": [{"depth": 1, "width": 6, "stride": 1, "wbits": 32, "abits": 32,
                        "blocks": [block]}]}
    x, lengths = padded_batch(3)
    logits = net(x, lengths, arch=arch)
    (logits * torch.randn_like(logits)).sum().backward()
    return net, {n: p.grad for n, p in net.named_parameters()}


def _only(grad: torch.Tensor, active: tuple[slice, ...]) -> None:
    """Nonzero inside ``active``, exactly zero outside."""
    inside = torch.zeros_like(grad, dtype=torch.bool)
    inside[active] = True
    assert grad[inside].abs().sum() > 0
    assert torch.count_nonzero(grad[~inside]) == 0


def _gate_rows(hmax: int, h: int) -> torch.Tensor:
    return torch.cat([torch.arange(g * hmax, g * hmax + h) for g in range(4)])


@pytest.mark.parametrize("wbits", [32, 8])
def test_common_layers_and_unused_modules(wbits: int) -> None:
    for op in CHOICES:
        net, g = _grads(op, wbits)
        _only(g["stem.conv.weight"], (slice(0, 4), slice(None), slice(1, 4)))  # k3 of k5
        _only(g["entries.0.conv.weight"], (slice(0, 6), slice(0, 4)))
        _only(g["classifier.weight"], (slice(None), slice(0, 6)))
        # the second slot is beyond the depth: no gradient at all
        assert all(p.grad is None for p in net.slots[0][1].parameters())


@pytest.mark.parametrize("wbits", [32, 8])
def test_conv_block(wbits: int) -> None:
    _, g = _grads("conv", wbits)
    # hidden = 1 x 6 of max 2 x 10; kernel 3 of 7 -> taps 2..4
    _only(g["slots.0.0.conv.pw1.weight"], (slice(0, 6), slice(0, 6)))
    _only(g["slots.0.0.conv.dw.weight"], (slice(0, 6), slice(None), slice(2, 5)))
    _only(g["slots.0.0.conv.pw2.weight"], (slice(0, 6), slice(0, 6)))
    _only(g["slots.0.0.conv.bn1.weight"], (slice(0, 6),))


@pytest.mark.parametrize("wbits", [32, 8])
def test_lstm_block(wbits: int) -> None:
    net, g = _grads("lstm", wbits)
    hmax = net.slots[0][0]["lstm"].hmax
    assert hmax == 10
    rows = _gate_rows(hmax, 3)  # hidden 0.5 x 6
    for name, cols in (("weight_ih_l0", 6), ("weight_hh_l0", 3)):
        grad = g[f"slots.0.0.lstm.lstm.{name}"]
        mask = torch.zeros_like(grad, dtype=torch.bool)
        mask[rows[:, None], torch.arange(cols)] = True
        assert grad[mask].abs().sum() > 0 and torch.count_nonzero(grad[~mask]) == 0
    bias = g["slots.0.0.lstm.lstm.bias_ih_l0"]
    assert torch.count_nonzero(bias[rows]) > 0
    assert torch.count_nonzero(bias) == torch.count_nonzero(bias[rows])
    _only(g["slots.0.0.lstm.proj.weight"], (slice(0, 6), slice(0, 3)))
    _only(g["slots.0.0.lstm.ln.weight"], (slice(0, 6),))


@pytest.mark.parametrize("wbits", [32, 8])
def test_ssm_block(wbits: int) -> None:
    net, g = _grads("ssm", wbits)
    emax = net.slots[0][0]["ssm"].emax
    assert emax == 20
    w = g["slots.0.0.ssm.in_proj.weight"]  # rows: signal [0, 20), gate [20, 40)
    rows = torch.cat([torch.arange(0, 6), torch.arange(20, 26)])
    mask = torch.zeros_like(w, dtype=torch.bool)
    mask[rows[:, None], torch.arange(6)] = True
    assert w[mask].abs().sum() > 0 and torch.count_nonzero(w[~mask]) == 0
    for name in ("A_log", "B", "C"):
        _only(g[f"slots.0.0.ssm.{name}"], (slice(0, 6), slice(0, 2)))
    _only(g["slots.0.0.ssm.D"], (slice(0, 6),))
    _only(g["slots.0.0.ssm.log_dt"], (slice(0, 6),))
    _only(g["slots.0.0.ssm.out_proj.weight"], (slice(0, 6), slice(0, 6)))


@pytest.mark.parametrize("wbits", [32, 8])
def test_attention_block(wbits: int) -> None:
    _, g = _grads("attn", wbits)
    w = g["slots.0.0.attn.qkv.weight"]  # rows: q [0, 12), k [12, 24), v [24, 36); 1 head of 4
    rows = torch.cat([torch.arange(s * 12, s * 12 + 4) for s in range(3)])
    mask = torch.zeros_like(w, dtype=torch.bool)
    mask[rows[:, None], torch.arange(6)] = True
    assert w[mask].abs().sum() > 0 and torch.count_nonzero(w[~mask]) == 0
    _only(g["slots.0.0.attn.o.weight"], (slice(0, 6), slice(0, 4)))
    _only(g["slots.0.0.attn.fc1.weight"], (slice(0, 6), slice(0, 6)))
    _only(g["slots.0.0.attn.fc2.weight"], (slice(0, 6), slice(0, 6)))
