"""Synchronised masked BatchNorm and activation ranges: 2 gloo processes against one.

Each of two processes holds a shard of a ragged batch (rank 1's shard is empty in one case).
Inside ``synchronized_stats`` their normalised outputs, the gradients of the inputs and of the
BatchNorm affine parameters (losses scaled by the shard's share, then summed, as the training
loop does), the running statistics and the activation range must equal one process running
the whole batch. Without the context manager the shards normalise on their own and differ.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from nasx.supernet.norms import BNView, masked_batch_norm
from nasx.supernet.quant import ActQuant
from nasx.supernet.stats_sync import stats_sync_active, synchronized_stats

C = 5


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x ``(7, C, 9)`` with per-sequence offsets, a ragged mask, per-sample loss weights."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, C, 9, generator=g) * 2 + torch.randn(7, 1, 1, generator=g) * 3 + 4
    lengths = torch.tensor([9, 3, 7, 1, 9, 5, 2])
    mask = torch.arange(9)[None, :] < lengths[:, None]  # (7, 9)
    w = torch.randn(7, C, 9, generator=g)  # a loss that weighs every output differently
    return x, mask, w


def _run(x: torch.Tensor, mask: torch.Tensor, w: torch.Tensor, share: float,
         sync: bool) -> dict[str, torch.Tensor]:
    """One BatchNorm forward + backward (and an ActQuant range) on ``x``; the results."""
    torch.manual_seed(1)
    bn = nn.BatchNorm1d(C + 2)  # a wider module: the view takes the first C channels
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
        bn.running_mean.fill_(3.0)  # the shift of the one-pass sums
    aq = ActQuant().train()
    xr = x.clone().requires_grad_(True)
    with synchronized_stats(sync):
        y = masked_batch_norm(xr, mask, BNView.of(bn, C), training=True)  # (B, C, L)
        aq(x, 8, mask.unsqueeze(1))
    n_valid = max(int(mask.sum()), 1)
    loss = (y * w * mask.unsqueeze(1)).sum() / n_valid  # mean over this shard's valid steps
    (loss * share).backward()
    return {"y": y.detach(), "dx": xr.grad, "dweight": bn.weight.grad,
            "dbias": bn.bias.grad, "running_mean": bn.running_mean,
            "running_var": bn.running_var, "amax": aq.amax}


def _worker(rank: int, init: str, cut: int, out_dir: str, sync: bool) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        torch.set_num_threads(1)
        x, mask, w = _data()
        part = slice(0, cut) if rank == 0 else slice(cut, None)
        # the loss is the mean over the *global* batch's valid steps: each shard's share
        share = float(mask[part].sum()) / float(mask.sum())
        res = _run(x[part], mask[part], w[part], share, sync)
        for name in ("dweight", "dbias"):
            dist.all_reduce(res[name])  # the training loop's gradient sum
        assert stats_sync_active() is False  # only inside the context manager
        torch.save(res, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _two_ranks(tmp_path: Path, cut: int, sync: bool) -> list[dict[str, torch.Tensor]]:
    mp.spawn(_worker, args=(f"tcp://127.0.0.1:{_free_port()}", cut, str(tmp_path), sync),
             nprocs=2, join=True)
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]


@pytest.mark.parametrize("cut", [4, 7])  # shards 4/3, and 7/0 (rank 1 empty)
def test_two_ranks_compute_what_one_process_computes_on_the_whole_batch(
        tmp_path: Path, cut: int) -> None:
    x, mask, w = _data()
    one = _run(x, mask, w, 1.0, sync=False)
    ranks = _two_ranks(tmp_path, cut, sync=True)
    y = torch.cat([ranks[0]["y"], ranks[1]["y"]])
    dx = torch.cat([ranks[0]["dx"], ranks[1]["dx"]])
    m = mask.unsqueeze(1)
    assert torch.allclose(y * m, one["y"] * m, atol=1e-5)
    assert torch.allclose(dx, one["dx"], atol=1e-6)
    for r in ranks:
        for name in ("dweight", "dbias", "running_mean", "running_var"):
            assert torch.allclose(r[name], one[name], atol=1e-5), name
        assert r["running_mean"][C:].eq(3.0).all()  # channels past the view untouched
        assert torch.equal(r["amax"], one["amax"])


def test_without_sync_each_rank_normalises_its_own_shard(tmp_path: Path) -> None:
    x, mask, _ = _data()
    one = _run(x, mask, torch.ones_like(x), 1.0, sync=False)
    ranks = _two_ranks(tmp_path, 4, sync=False)
    assert not torch.allclose(ranks[0]["running_mean"], one["running_mean"], atol=1e-2)
    assert not torch.allclose(ranks[0]["running_mean"], ranks[1]["running_mean"], atol=1e-2)
    assert ranks[0]["amax"] != ranks[1]["amax"]
    m = mask[:4].unsqueeze(1)
    assert not torch.allclose(ranks[0]["y"] * m, one["y"][:4] * m, atol=1e-2)


def test_the_context_manager_is_a_no_op_in_one_process() -> None:
    x, mask, w = _data()
    with synchronized_stats():
        assert stats_sync_active() is False
    plain = _run(x, mask, w, 1.0, sync=False)
    synced = _run(x, mask, w, 1.0, sync=True)  # no process group: the single-process path
    assert all(torch.equal(plain[k], synced[k]) for k in plain)
