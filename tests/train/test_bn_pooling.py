"""Whole-split BatchNorm calibration measured over chunks equals the split as one batch."""

from __future__ import annotations

import copy

import numpy as np
import torch

from nasx.data import iterate_batches
from nasx.search_spaces import largest_arch, random_arch, smallest_arch
from nasx.supernet import Supernet
from nasx.train import bn_recal
from nasx.train.bn_recal import WholeSplit, batch_norms, recalibrate_bn
from nasx.train.evaluate import calibration_batches


def _buffers(net: Supernet) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(bn.running_mean.clone(), bn.running_var.clone()) for bn in batch_norms(net)]


def _float(value):
    """``value`` (an arch) with every weight and activation bit-width 32."""
    if isinstance(value, dict):
        return {k: 32 if k in ("wbits", "abits") else _float(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_float(v) for v in value]
    return value


def _compare(net: Supernet, whole, chunks, archs, val, tol: float) -> None:
    with torch.no_grad():  # activation ranges as after training, not of the current batch
        for arch in archs:
            net(whole.x, whole.lengths, arch=arch)
    for arch in archs:
        one = copy.deepcopy(net)
        recalibrate_bn(one, arch, [whole])
        recalibrate_bn(net, arch, chunks)
        for (m1, v1), (m2, v2) in zip(_buffers(one), _buffers(net), strict=True):
            assert torch.allclose(m1, m2, rtol=tol, atol=tol)
            assert torch.allclose(v1, v2, rtol=10 * tol, atol=tol)
        with torch.no_grad():
            a = one.eval()(val.x, val.lengths, arch=arch)  # (N_val, classes)
            b = net.eval()(val.x, val.lengths, arch=arch)
        net.train()
        assert (a - b).abs().max().item() < 10 * tol


def test_pooled_statistics_equal_the_whole_split_as_one_batch(tiny_net: Supernet, jv,
                                                              monkeypatch) -> None:
    """Float subnets: the same figures up to float32 summation order (1e-5). Quantized
    subnets: a last-bit difference can move an activation across a rounding step of the
    fake quantizer, so there the figures agree to 1e-3."""
    (whole,) = iterate_batches(jv.train, len(jv.train), shuffle=False)  # the old way
    monkeypatch.setattr(bn_recal, "CALIB_CHUNK", 37)
    chunks = calibration_batches(jv.train, 16, 0, 0, "cpu")
    assert isinstance(chunks, WholeSplit) and len(chunks) == 6  # 216 = 5 x 37 + 31
    val = next(iterate_batches(jv.val, len(jv.val), shuffle=False))
    rng = np.random.default_rng(3)
    space = tiny_net.space
    randoms = [random_arch(space, rng) for _ in range(2)]
    _compare(tiny_net, whole, chunks, [largest_arch(space), *map(_float, randoms)], val, 1e-5)
    _compare(tiny_net, whole, chunks, [smallest_arch(space), randoms[0]], val, 1e-3)


def test_averaging_the_same_chunks_is_not_exact(tiny_net: Supernet, jv, monkeypatch) -> None:
    """The test above can fail: a cumulative average over the chunks misses the spread of the
    chunk means, and later layers see chunk-normalised inputs."""
    (whole,) = iterate_batches(jv.train, len(jv.train), shuffle=False)
    chunks = list(iterate_batches(jv.train, 37, shuffle=False))
    arch = largest_arch(tiny_net.space)
    one = copy.deepcopy(tiny_net)
    recalibrate_bn(one, arch, [whole])
    recalibrate_bn(tiny_net, arch, chunks)
    gap = max((v1 - v2).abs().max().item()
              for (_, v1), (_, v2) in zip(_buffers(one), _buffers(tiny_net), strict=True))
    assert gap > 1e-3


def test_a_split_of_one_chunk_is_calibrated_as_before(tiny_net: Supernet, jv) -> None:
    """JapaneseVowels (216 training sequences) is one chunk: bit-for-bit the one-batch figures."""
    (whole,) = iterate_batches(jv.train, len(jv.train), shuffle=False)
    calib = calibration_batches(jv.train, 16, 0, 0, "cpu")
    assert len(calib) == 1 and calib[0].x.equal(whole.x)
    arch = largest_arch(tiny_net.space)
    one = copy.deepcopy(tiny_net)
    recalibrate_bn(one, arch, [whole])
    recalibrate_bn(tiny_net, arch, calib)
    for (m1, v1), (m2, v2) in zip(_buffers(one), _buffers(tiny_net), strict=True):
        assert m1.equal(m2) and v1.equal(v2)
