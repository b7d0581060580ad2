"""The sandwich step: summed gradients of hard-label and distillation losses, ε scaling,
clipping, dropout on the largest subnet only, and skipped non-finite steps."""

from __future__ import annotations

import copy
import dataclasses
import math

import torch
import torch.nn.functional as F

from nasx.search_spaces import HeadSpace
from nasx.supernet import Supernet
from nasx.train.sandwich import distill_loss, sandwich_step
from nasx.train.subnets import sandwich_archs, step_rng


def test_distill_loss_is_t2_scaled_kl() -> None:
    torch.manual_seed(0)
    s, t = torch.randn(4, 5), torch.randn(4, 5)
    T = 2.0
    p = F.softmax(t / T, dim=1)
    want = (p * (p.log() - F.log_softmax(s / T, dim=1))).sum(1).mean() * T * T
    assert torch.allclose(distill_loss(s, t, T), want, atol=1e-6)
    assert distill_loss(t, t, T).item() == 0.0


def _lr0(net: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(net.parameters(), lr=0.0)  # keeps the weights; grads stay readable


def _manual_grads(net: Supernet, batch, archs, eps: float, ls: float, T: float) -> dict:
    """One backward of L_largest + eps * sum(KD) on a copy, forwards in the same order."""
    ref = copy.deepcopy(net)
    logits = ref(batch.x, batch.lengths, arch=archs[0][1])
    total = F.cross_entropy(logits, batch.y, label_smoothing=ls)
    for _, arch in archs[1:] if eps > 0 else []:
        total = total + eps * distill_loss(ref(batch.x, batch.lengths, arch=arch),
                                           logits.detach(), T)
    total.backward()
    return {n: p.grad for n, p in ref.named_parameters() if p.grad is not None}


def test_gradients_are_the_sum_of_all_subnet_losses(tiny_net: Supernet, batch) -> None:
    archs = sandwich_archs(tiny_net.space, step_rng(0, 3), 2, "sample")
    want = _manual_grads(tiny_net, batch, archs, 0.3, 0.1, 2.0)
    result = sandwich_step(tiny_net, _lr0(tiny_net), batch, archs, eps=0.3, label_smoothing=0.1,
                           kd_temperature=2.0, grad_clip=0.0)
    got = {n: p.grad for n, p in tiny_net.named_parameters() if p.grad is not None}
    assert got.keys() == want.keys()
    for name in want:
        assert torch.allclose(got[name], want[name], atol=1e-6), name
    assert sorted(result.loss_distill) == ["random-1", "random-2", "smallest"]
    norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in want.values()]))
    assert result.grad_norm == float(norm) or math.isclose(result.grad_norm, float(norm),
                                                           rel_tol=1e-6)
    assert not result.skipped


def test_eps_zero_trains_only_the_largest(tiny_net: Supernet, batch) -> None:
    archs = sandwich_archs(tiny_net.space, step_rng(0, 3), 2, "sample")
    want = _manual_grads(tiny_net, batch, archs, 0.0, 0.0, 1.0)
    result = sandwich_step(tiny_net, _lr0(tiny_net), batch, archs, eps=0.0, label_smoothing=0.0,
                           kd_temperature=1.0, grad_clip=0.0)
    assert result.loss_distill == {}
    got = {n: p.grad for n, p in tiny_net.named_parameters() if p.grad is not None}
    assert got.keys() == want.keys()
    assert all(torch.equal(got[n], want[n]) for n in want)


def test_clipping_scales_the_summed_gradient_to_the_limit(tiny_net: Supernet, batch) -> None:
    archs = sandwich_archs(tiny_net.space, step_rng(0, 1), 1, "sample")
    result = sandwich_step(tiny_net, _lr0(tiny_net), batch, archs, eps=1.0, label_smoothing=0.0,
                           kd_temperature=1.0, grad_clip=0.01)
    grads = [p.grad for p in tiny_net.parameters() if p.grad is not None]
    clipped = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))
    assert result.grad_norm > 0.01
    assert math.isclose(float(clipped), 0.01, rel_tol=1e-4)


def test_dropout_runs_for_the_largest_subnet_only(jv, batch) -> None:
    torch.manual_seed(0)
    net = Supernet(load_tiny_with_dropout(), jv.channels, jv.num_classes).train()
    seen: list[bool] = []
    net.dropout.register_forward_pre_hook(lambda m, _args: seen.append(m.training))
    archs = sandwich_archs(net.space, step_rng(0, 0), 2, "sample")
    sandwich_step(net, _lr0(net), batch, archs, eps=1.0, label_smoothing=0.0,
                  kd_temperature=1.0, grad_clip=1.0)
    assert seen == [True, False, False, False]
    assert net.dropout.training  # restored


def load_tiny_with_dropout():
    from nasx.search_spaces import load_space

    return dataclasses.replace(load_space("tiny"), head=HeadSpace(dropout=0.5))


def test_non_finite_loss_skips_the_step(tiny_net: Supernet, batch) -> None:
    with torch.no_grad():
        tiny_net.classifier.bias[0] = math.inf
    before = copy.deepcopy(tiny_net.state_dict())
    opt = torch.optim.AdamW(tiny_net.parameters(), lr=0.1)
    archs = sandwich_archs(tiny_net.space, step_rng(0, 0), 1, "sample")
    result = sandwich_step(tiny_net, opt, batch, archs, eps=1.0, label_smoothing=0.0,
                           kd_temperature=1.0, grad_clip=1.0)
    assert result.skipped and not math.isfinite(result.loss_largest)
    assert opt.state == {}  # the optimizer never stepped
    after = tiny_net.state_dict()
    params = {n for n, _ in tiny_net.named_parameters()}
    assert all(torch.equal(before[n], after[n]) for n in params)
    assert all(p.grad is None for p in tiny_net.parameters())


def test_non_finite_gradient_skips_the_step(tiny_net: Supernet, batch) -> None:
    archs = sandwich_archs(tiny_net.space, step_rng(0, 0), 0, "sample")
    # a NaN gradient without a NaN loss: poison the gradient through a hook
    tiny_net.classifier.weight.register_hook(lambda g: g * math.nan)
    opt = torch.optim.SGD(tiny_net.parameters(), lr=0.1)
    w = tiny_net.classifier.weight.detach().clone()
    result = sandwich_step(tiny_net, opt, batch, archs, eps=1.0, label_smoothing=0.0,
                           kd_temperature=1.0, grad_clip=1.0)
    assert result.skipped and math.isfinite(result.loss_largest)
    assert math.isnan(result.grad_norm)
    assert torch.equal(tiny_net.classifier.weight, w)
