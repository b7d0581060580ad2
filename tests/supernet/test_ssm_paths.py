"""The SSM block's parallel (convolution) and recurrent (step) paths agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from supernet_helpers import warmed_supernet

from nasx.search_spaces import random_arch, space_from_dict
from nasx.supernet.ssm_block import StaticSSM


@pytest.mark.parametrize("length", [1, 9, 200])  # 200 takes the FFT path, the others direct
def test_recurrent_path_equals_parallel_path(length: int) -> None:
    space = space_from_dict({
        "name": "ssm-only",
        "stem": {"width": [8]},
        "stages": [{"depth": [2], "width": [8, 12], "ops": ["ssm"]}],
        "ops": {"ssm": {"state": [4, 8], "expand": [1, 2]}},
    })
    net = warmed_supernet(space, 3, 4)
    rng = np.random.default_rng(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 3, length, generator=g)
    lengths = torch.tensor([length, max(1, length // 2), 1])
    x = x * (torch.arange(length) < lengths[:, None]).unsqueeze(1)
    for _ in range(3):
        static = net.extract(random_arch(space, rng))
        with torch.no_grad():
            parallel = static(x, lengths)
            for m in static.modules():
                if isinstance(m, StaticSSM):
                    m.recurrent = True
            recurrent = static(x, lengths)
        assert (parallel - recurrent).abs().max().item() <= 1e-5
