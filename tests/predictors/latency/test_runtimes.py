"""A subnet as each runtime runs it computes what the exported net computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasx.errors import NasxError
from nasx.export.convert import export_static, spec_for
from nasx.predictors.latency.runtimes import _with_ranges, check_runtime, runtime_module
from nasx.search_spaces import load_space, random_arch
from nasx.supernet import Supernet
from nasx.supernet.quant import ActQuant

SPACE = load_space("tiny")


@pytest.fixture(scope="module")
def static() -> torch.nn.Module:
    torch.manual_seed(0)
    net = Supernet(SPACE, 12, 9).eval()
    arch = random_arch(SPACE, np.random.default_rng(4))
    return net.extract(arch).eval()


def test_torch_is_the_static_module_itself(static: torch.nn.Module) -> None:
    assert runtime_module(static, "torch", space=SPACE, channels=12, classes=9,
                          length=29) is static


@pytest.mark.parametrize("runtime", ["onnxruntime", "pt2"])
def test_exported_runtimes_match_the_exported_net(static: torch.nn.Module, runtime: str) -> None:
    unseen = [m for m in static.modules() if isinstance(m, ActQuant) and not bool(m.seen)]
    module = runtime_module(static, runtime, space=SPACE, channels=12, classes=9, length=29)
    # the random supernet's quantizers are left as they were (ranges go on a copy)
    assert all(not bool(m.seen) for m in unseen)
    ready = _with_ranges(static)
    net = export_static(ready, spec_for(SPACE, ready.arch, 12, 9))
    x = torch.randn(3, 12, 29, generator=torch.Generator().manual_seed(1))  # (B, C, L)
    lengths = torch.tensor([29, 29, 29])
    with torch.inference_mode():
        want = net(x, lengths)
        got = module(x, lengths)
    assert got.shape == (3, 9)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_the_c_runtime_is_refused_in_one_line() -> None:
    with pytest.raises(NasxError) as err:
        check_runtime("c")
    assert str(err.value) == ("--runtime c: the C runtime is not timed by nasx profile yet (its "
                              "host build has no timing entry point); measure one of "
                              "onnxruntime, torch, pt2")
