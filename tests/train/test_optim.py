"""Weight-decay groups and the per-step LR scheduler."""

from __future__ import annotations

import io

import torch

from nasx.config import RunConfig, TrainConfig, load_config
from nasx.search_spaces import load_space
from nasx.supernet import Supernet
from nasx.train.optim import build_optimizer, build_scheduler, no_decay_names, param_groups
from nasx.train.schedules import lr_factor


def test_no_decay_on_1d_ssm_dynamics_and_kernel_transforms() -> None:
    net = Supernet(load_space("hybrid-mcu"), 12, 9)  # kernel_transform: true
    named = dict(net.named_parameters())
    skip = no_decay_names(net)
    want = {n for n, p in named.items()
            if p.ndim <= 1 or n.endswith((".A_log", ".B")) or ".crop.transforms." in n}
    assert skip == want
    assert "slots.0.0.ssm.A_log" in skip and "slots.0.0.ssm.B" in skip
    assert "slots.0.0.ssm.C" not in skip  # read-out, decayed like a projection
    assert "slots.0.0.conv.crop.transforms.3" in skip
    assert "classifier.weight" not in skip and "classifier.bias" in skip
    assert "slots.0.0.lstm.lstm.weight_hh_l0" not in skip
    decay, no_decay = param_groups(net, 0.05)
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.05, 0.0)
    assert len(decay["params"]) + len(no_decay["params"]) == len(named)


def test_optimizer_kinds() -> None:
    net = Supernet(load_space("tiny"), 12, 9)
    adamw = build_optimizer(net, TrainConfig(lr=0.01, weight_decay=0.1))
    assert isinstance(adamw, torch.optim.AdamW)
    assert [g["weight_decay"] for g in adamw.param_groups] == [0.1, 0.0]
    sgd = build_optimizer(net, load_config(RunConfig, None, ["train.optimizer=sgd"]).train)
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.param_groups[0]["momentum"] == 0.9 and sgd.param_groups[0]["nesterov"]


def test_scheduler_follows_lr_factor_and_round_trips_weights_only() -> None:
    net = Supernet(load_space("tiny"), 12, 9)
    opt = build_optimizer(net, TrainConfig(lr=0.5))
    sched = build_scheduler(opt, 20, 3)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == [0.5 * lr_factor(s, 20, 3) for s in range(20)]
    buf = io.BytesIO()
    torch.save(sched.state_dict(), buf)
    state = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
    opt2 = build_optimizer(net, TrainConfig(lr=0.5))
    sched2 = build_scheduler(opt2, 20, 3)
    sched2.load_state_dict(state)
    assert sched2.last_epoch == 20
    assert state["lr_lambdas"] == [{"total_steps": 20, "warmup_steps": 3}] * 2
