"""Padding never changes a result: one sequence padded to two lengths gives the same logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from supernet_helpers import warmed_supernet

from nasx.search_spaces import OP_TYPES, random_arch, space_from_dict


def single_op_space(op: str, causal: bool = False, bits: tuple[int, ...] = (8, 32)) -> object:
    """Two stages of one op type only, strided second stage, quantization choices on."""
    return space_from_dict({
        "name": f"only-{op}",
        "causal": causal,
        "stem": {"width": [6, 8], "kernel": [3, 5], "stride": [1, 2]},
        "stages": [{"depth": [1, 2], "width": [6, 8], "stride": 1, "ops": [op]},
                   {"depth": [1, 2], "width": [8, 12], "stride": [1, 2], "ops": [op]}],
        "ops": {"conv": {"kernel": [3, 5, 7], "expand": [1, 2]},
                "attn": {"heads": [1, 2], "head_dim": 4, "ffn": [1, 2]},
                "ssm": {"state": [2, 4], "expand": [1, 2]}},
        "quant": {"weight_bits": list(bits), "act_bits": [8, 32]},
    })


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("op", OP_TYPES)
def test_padding_invariance_per_op_type(op: str, causal: bool) -> None:
    space = single_op_space(op, causal)
    net = warmed_supernet(space, 3, 4)
    rng = np.random.default_rng(0)
    g = torch.Generator().manual_seed(2)
    for length in (1, 5, 11):
        seq = torch.randn(1, 3, length, generator=g)
        for _ in range(6):
            arch = random_arch(space, rng)
            outs = []
            for padded in (length, length + 7, length + 30):
                x = torch.zeros(1, 3, padded)
                x[..., :length] = seq
                with torch.no_grad():
                    outs.append(net(x, torch.tensor([length]), arch=arch))
            assert (outs[0] - outs[1]).abs().max().item() <= 1e-5
            assert (outs[0] - outs[2]).abs().max().item() <= 1e-5


@pytest.mark.parametrize("op", OP_TYPES)
def test_batch_neighbours_do_not_change_a_result(op: str) -> None:
    """A sequence's logits are the same alone and inside a batch of longer sequences."""
    space = single_op_space(op)
    net = warmed_supernet(space, 3, 4)
    arch = random_arch(space, np.random.default_rng(4))
    g = torch.Generator().manual_seed(3)
    batch = torch.randn(4, 3, 40, generator=g)
    lengths = torch.tensor([40, 13, 27, 2])
    batch = batch * (torch.arange(40) < lengths[:, None]).unsqueeze(1)
    with torch.no_grad():
        together = net(batch, lengths, arch=arch)
        for i in range(4):
            alone = net(batch[i : i + 1, :, : lengths[i]], lengths[i : i + 1])
            assert (together[i] - alone[0]).abs().max().item() <= 1e-5


@pytest.mark.parametrize("op", OP_TYPES)
def test_training_statistics_ignore_padding(op: str) -> None:
    """In training mode (batch statistics) extra padding changes neither outputs nor stats."""
    space = single_op_space(op, bits=(32,))
    nets = [warmed_supernet(space, 3, 4, seed=9) for _ in range(2)]
    arch = random_arch(space, np.random.default_rng(8))
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 3, 10, generator=g)
    lengths = torch.tensor([10, 6, 3])
    x = x * (torch.arange(10) < lengths[:, None]).unsqueeze(1)
    outs = []
    for net, pad in zip(nets, (0, 9), strict=True):
        net.train()
        xp = torch.nn.functional.pad(x, (0, pad))
        outs.append(net(xp, lengths, arch=arch))
    assert (outs[0] - outs[1]).abs().max().item() <= 1e-5
    for (name, a), (_, b) in zip(nets[0].named_buffers(), nets[1].named_buffers(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name
