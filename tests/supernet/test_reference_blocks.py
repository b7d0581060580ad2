"""Each extracted block against an independent reference built from torch's own modules.

Supernet and static blocks share one functional forward per op, so `test_extract` checks the
weight copies; these tests check the forward itself (float, full length, float64, eval mode).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from supernet_helpers import warmed_supernet
from torch import nn

from nasx.kernels.ssm_scan import ssm_scan_ref
from nasx.search_spaces import random_arch, space_from_dict

LENGTH = 13


def _static_block(op: str, seed: int) -> tuple[nn.Module, nn.Module, dict]:
    space = space_from_dict({
        "name": f"ref-{op}",
        "stem": {"width": [6, 8], "kernel": [3, 5], "stride": [1, 2]},
        "stages": [{"depth": [1], "width": [6, 10], "ops": [op]}],
        "ops": {"conv": {"kernel": [3, 5, 7], "expand": [1, 2]},
                "attn": {"heads": [1, 3], "head_dim": 4, "ffn": [1, 2]},
                "ssm": {"state": [2, 4], "expand": [1, 2]}},
    })
    net = warmed_supernet(space, 3, 4, seed=seed)
    arch = random_arch(space, np.random.default_rng(seed))
    static = net.extract(arch).double().eval()
    return static.stem, static.stages[0].blocks[0], arch


def _x(width: int) -> torch.Tensor:
    return torch.randn(2, width, LENGTH, generator=torch.Generator().manual_seed(0),
                       dtype=torch.float64)


def _full(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.full((x.shape[0],), x.shape[-1])
    return lengths, torch.ones(x.shape[0], x.shape[-1], dtype=torch.bool)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stem_is_conv_bn_relu(seed: int) -> None:
    stem, _, arch = _static_block("conv", seed)
    x = _x(3)
    k, s = arch["stem"]["kernel"], arch["stem"]["stride"]
    conv = nn.Conv1d(3, stem.conv.out_channels, k, stride=s, padding=k // 2, bias=False).double()
    conv.weight.data.copy_(stem.conv.weight)
    ref = F.relu(stem.bn(conv(x)))
    out, lengths, _ = stem(x, _full(x)[0])
    assert torch.allclose(out, ref, atol=1e-10) and lengths.tolist() == [math.ceil(LENGTH / s)] * 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mbconv_block(seed: int) -> None:
    _, m, arch = _static_block("conv", seed)
    x = _x(m.pw1.in_channels)
    k = arch["stages"][0]["blocks"][0]["kernel"]
    dw = nn.Conv1d(m.dw.in_channels, m.dw.out_channels, k, padding=k // 2,
                   groups=m.dw.in_channels, bias=False).double()
    dw.weight.data.copy_(m.dw.weight)
    ref = x + m.bn3(m.pw2(F.relu(m.bn2(dw(F.relu(m.bn1(m.pw1(x))))))))
    assert torch.allclose(m(x, _full(x)[1]), ref, atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lstm_block_uses_torch_lstm_semantics(seed: int) -> None:
    _, m, _ = _static_block("lstm", seed)
    x = _x(m.ln.normalized_shape[0])
    h, _ = m.lstm(m.ln(x.transpose(1, 2)))  # nn.LSTM's own forward, batch_first
    ref = x + m.proj(h).transpose(1, 2)
    assert torch.allclose(m(x, _full(x)[1]), ref, atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_attention_block_against_explicit_softmax(seed: int) -> None:
    _, m, arch = _static_block("attn", seed)
    heads, d = arch["stages"][0]["blocks"][0]["heads"], m.head_dim
    x = _x(m.ln1.normalized_shape[0])
    xt = x.transpose(1, 2)  # (B, L, W)
    q, k, v = m.qkv(m.ln1(xt)).split(heads * d, dim=-1)
    outs = []
    for i in range(heads):  # one head at a time, softmax written out
        sl = slice(i * d, (i + 1) * d)
        att = torch.softmax(q[..., sl] @ k[..., sl].transpose(1, 2) / math.sqrt(d), dim=-1)
        outs.append(att @ v[..., sl])
    xt = xt + m.o(torch.cat(outs, dim=-1))
    ref = (xt + m.fc2(F.gelu(m.fc1(m.ln2(xt))))).transpose(1, 2)
    assert torch.allclose(m(x, _full(x)[1]), ref, atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ssm_block_against_the_step_loop(seed: int) -> None:
    _, m, _ = _static_block("ssm", seed)
    x = _x(m.ln.normalized_shape[0])
    u, z = m.in_proj(m.ln(x.transpose(1, 2))).transpose(1, 2).chunk(2, dim=1)
    y = ssm_scan_ref(u, m.log_dt.exp(), -m.A_log.exp(), m.B, m.C, m.D, z)
    ref = x + m.out_proj(y.transpose(1, 2)).transpose(1, 2)
    assert torch.allclose(m(x, _full(x)[1]), ref, atol=1e-10)
