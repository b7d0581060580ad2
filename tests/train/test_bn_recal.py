"""BatchNorm recalibration: cumulative average over the cached batches, nothing else changes;
evaluation leaves the supernet as it found it."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from nasx.data import iterate_batches
from nasx.data.masks import mask_from_lengths
from nasx.search_spaces import largest_arch, smallest_arch
from nasx.supernet import Supernet
from nasx.supernet.conv_bn import causal_or_same_conv
from nasx.supernet.quant import ActQuant
from nasx.train.bn_recal import batch_norms, preserved_bn_state, recalibrate_bn
from nasx.train.evaluate import calibration_batches, evaluate_subnets


def _stem_stats(net: Supernet, arch: dict, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased variance of the stem conv output over valid steps (float arch)."""
    s = arch["stem"]
    mask = mask_from_lengths(batch.lengths, batch.x.shape[-1])  # (B, L)
    w = net.stem.active_weight(net.in_channels, s["width"], s["kernel"])
    y = causal_or_same_conv(batch.x * mask.unsqueeze(1), w, s["stride"], False)  # (B, C, L')
    m = mask[:, :: s["stride"]].unsqueeze(1).float()
    n = m.sum()
    mean = (y * m).sum((0, 2)) / n
    var = ((y - mean[:, None]) ** 2 * m).sum((0, 2)) / (n - 1)
    return mean, var


def test_recalibration_is_a_cumulative_average(tiny_net: Supernet, jv) -> None:
    arch = largest_arch(tiny_net.space)
    b1, b2 = list(iterate_batches(jv.train, 16, shuffle=False))[:2]
    with torch.no_grad():
        m1, v1 = _stem_stats(tiny_net, arch, b1)
        m2, v2 = _stem_stats(tiny_net, arch, b2)
    for bn in batch_norms(tiny_net):  # stale statistics must not matter
        bn.running_mean.fill_(5.0)
    recalibrate_bn(tiny_net, arch, [b1, b2])
    bn = tiny_net.stem.bn
    c = arch["stem"]["width"]
    assert torch.allclose(bn.running_mean[:c], (m1 + m2) / 2, atol=1e-5)
    assert torch.allclose(bn.running_var[:c], (v1 + v2) / 2, atol=1e-5)
    assert int(bn.num_batches_tracked) == 2
    assert bn.momentum == 0.1  # restored


def test_recalibration_touches_only_batchnorm_buffers(tiny_net: Supernet, jv) -> None:
    calib = calibration_batches(jv.train, 16, 2, 0, "cpu")
    recalibrate_bn(tiny_net, largest_arch(tiny_net.space), calib)  # ranges seen once
    tiny_net.eval()
    before = copy.deepcopy(tiny_net.state_dict())
    arch = smallest_arch(tiny_net.space)  # int4/int8: quantizers run
    recalibrate_bn(tiny_net, arch, calib)
    after = tiny_net.state_dict()
    bn_keys = {f"{n}.{b}" for n, m in tiny_net.named_modules()
               if isinstance(m, torch.nn.BatchNorm1d)
               for b in ("running_mean", "running_var", "num_batches_tracked")}
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and changed <= bn_keys
    assert not tiny_net.training  # mode restored
    assert all(not m.training for m in tiny_net.modules() if isinstance(m, ActQuant))


def test_calibration_batches_are_seeded(jv) -> None:
    a = calibration_batches(jv.train, 8, 3, 5, "cpu")
    b = calibration_batches(jv.train, 8, 3, 5, "cpu")
    c = calibration_batches(jv.train, 8, 3, 6, "cpu")
    assert len(a) == 3 and [len(x.y) for x in a] == [8, 8, 8]
    assert all(torch.equal(x.x, y.x) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0].y, c[0].y)


def test_zero_calibration_batches_means_the_whole_training_split(tiny_net: Supernet,
                                                                  jv) -> None:
    (whole,) = calibration_batches(jv.train, 8, 0, 5, "cpu")
    assert len(whole.y) == len(jv.train)
    assert torch.equal(whole.y, torch.as_tensor(jv.train.y))  # in order, nothing left out
    assert calibration_batches(jv.train, 8, 0, 6, "cpu")[0].x.equal(whole.x)  # no seed
    # One batch of everything: the statistics of the whole split, whatever the seed.
    arch = smallest_arch(tiny_net.space)
    [a] = evaluate_subnets(tiny_net, [("s", arch)], jv.val, [whole])
    [b] = evaluate_subnets(tiny_net, [("s", arch)], jv.val,
                           calibration_batches(jv.train, 16, 0, 9, "cpu"))
    assert (a.accuracy, a.loss) == (b.accuracy, b.loss)


def test_evaluate_matches_a_manual_evaluation_and_restores_the_net(tiny_net: Supernet,
                                                                   jv) -> None:
    calib = calibration_batches(jv.train, 16, 2, 0, "cpu")
    arch = smallest_arch(tiny_net.space)
    before = copy.deepcopy(tiny_net.state_dict())
    active = tiny_net.active_arch
    [res] = evaluate_subnets(tiny_net, [("smallest", arch)], jv.val, calib)
    after = tiny_net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert tiny_net.training and tiny_net.active_arch == active
    # by hand: recalibrate a copy, then evaluate in eval mode
    ref = copy.deepcopy(tiny_net)
    recalibrate_bn(ref, arch, calib)
    ref.eval()
    with torch.no_grad():
        logits = ref(jv.val.x, jv.val.lengths)
    assert res.n == len(jv.val) == 54
    assert res.accuracy == (logits.argmax(1) == jv.val.y).sum().item() / 54
    assert abs(res.loss - F.cross_entropy(logits, jv.val.y).item()) < 1e-5
    assert res.name == "smallest"


def test_preserved_bn_state_restores_buffers_and_momentum(tiny_net: Supernet) -> None:
    bn = tiny_net.stem.bn
    mean = bn.running_mean.clone()
    with preserved_bn_state(tiny_net):
        bn.running_mean.add_(1.0)
        bn.momentum = None
        bn.num_batches_tracked.add_(3)
    assert torch.equal(bn.running_mean, mean) and bn.momentum == 0.1
    assert int(bn.num_batches_tracked) == 0
