"""An ensemble of small MLPs trained together as one batched model (torch, CPU).

Member ``m`` is ``F -> hidden -> hidden -> 1`` with ReLU, initialised from its own seed. All
members are stored as stacked tensors (``w1: (M, F, H)``...), so one ``baddbmm`` per layer runs
the whole ensemble. Training is full-batch AdamW on the mean squared error of the standardised
target, summed over members: the members share no parameter and Adam's update is elementwise, so
this equals training each member alone. Each member sees a bootstrap resample of the data (as
sample weights), which with the different initialisations makes the members disagree where the
data say little: the spread of their predictions is the ensemble's uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

PARAM_NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")


@dataclass(frozen=True)
class MLPSettings:
    """How an ensemble is built and trained.

    Attributes:
        members: number of MLPs.
        hidden: units per hidden layer.
        steps: full-batch optimizer steps.
        lr: AdamW peak learning rate (cosine decay to 0).
        weight_decay: AdamW decoupled weight decay.
        bootstrap: each member fits a bootstrap resample (otherwise all see every sample).
    """

    members: int = 5
    hidden: int = 64
    steps: int = 500
    lr: float = 3e-3
    weight_decay: float = 1e-3
    bootstrap: bool = True


class MLPEnsemble:
    """Fitted ensemble: input standardisation, stacked weights and the target scale."""

    def __init__(self, params: dict[str, Tensor], x_mean: np.ndarray, x_std: np.ndarray,
                 y_mean: float, y_std: float) -> None:
        self.params = {k: params[k].detach().to(torch.float32).contiguous() for k in PARAM_NAMES}
        self.x_mean = np.asarray(x_mean, dtype=np.float32)  # (F,)
        self.x_std = np.asarray(x_std, dtype=np.float32)  # (F,)
        self.y_mean = float(y_mean)
        self.y_std = float(y_std)

    @property
    def members(self) -> int:
        """Number of MLPs ``M``."""
        return int(self.params["w1"].shape[0])

    @property
    def hidden(self) -> int:
        """Units per hidden layer ``H``."""
        return int(self.params["w1"].shape[2])

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, settings: MLPSettings, seed: int,
            sample_weight: np.ndarray | None = None) -> MLPEnsemble:
        """Train an ensemble on inputs ``x (n, F)`` and targets ``y (n,)``, each sample's
        squared error weighted by ``sample_weight (n,)`` (positive; default all equal).

        The same ``(x, y, settings, seed, sample_weight)`` give the same weights (on CPU).
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n, f = x.shape
        x_mean, x_std = x.mean(axis=0), x.std(axis=0)
        x_std = np.where(x_std > 1e-12, x_std, 1.0)
        y_mean, y_std = float(y.mean()), float(y.std())
        y_std = y_std if y_std > 1e-12 else 1.0
        xs = torch.from_numpy(((x - x_mean) / x_std).astype(np.float32))  # (n, F)
        ys = torch.from_numpy(((y - y_mean) / y_std).astype(np.float32))  # (n,)
        m, h = settings.members, settings.hidden
        params = _init_params(m, f, h, seed)
        weights = _sample_weights(m, n, seed, settings.bootstrap)  # (M, n)
        relative = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        if relative is not None and np.all(relative == relative[0]):
            relative = None  # equal weights are no weights: the same fit bit for bit
        if relative is not None:
            weights = weights * torch.from_numpy((relative / relative.mean()).astype(np.float32))
            weights = weights / weights.sum(dim=1, keepdim=True)  # each member sums to 1 again
        opt = torch.optim.AdamW(list(params.values()), lr=settings.lr,
                                weight_decay=settings.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / settings.steps)))
        for _ in range(settings.steps):
            opt.zero_grad(set_to_none=True)
            err = _forward(params, xs) - ys  # (M, n)
            loss = ((err**2) * weights).sum(dim=1).sum()  # members' weighted means, summed
            loss.backward()
            opt.step()
            sched.step()
        return cls(params, x_mean, x_std, y_mean, y_std)

    @torch.no_grad()
    def predict_members(self, x: np.ndarray) -> np.ndarray:
        """Every member's prediction ``(M, n)`` float64 for inputs ``x (n, F)``."""
        xs = torch.from_numpy(((np.asarray(x, dtype=np.float32) - self.x_mean) / self.x_std)
                              .astype(np.float32))  # (n, F)
        out = _forward(self.params, xs)  # (M, n)
        return out.double().numpy() * self.y_std + self.y_mean

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation (over members, ddof 0) ``(n,)`` float64 each."""
        pred = self.predict_members(x)
        return pred.mean(axis=0), pred.std(axis=0)


def _forward(params: dict[str, Tensor], x: Tensor) -> Tensor:
    """Outputs ``(M, n)`` of every member for standardised inputs ``x (n, F)``."""
    p = params
    h = x.unsqueeze(0).expand(p["w1"].shape[0], -1, -1)  # (M, n, F)
    h = torch.relu(torch.baddbmm(p["b1"], h, p["w1"]))  # (M, n, H)
    h = torch.relu(torch.baddbmm(p["b2"], h, p["w2"]))  # (M, n, H)
    return torch.baddbmm(p["b3"], h, p["w3"]).squeeze(-1)  # (M, n)


def _init_params(members: int, f: int, h: int, seed: int) -> dict[str, Tensor]:
    """``nn.Linear``'s default initialisation (uniform +-1/sqrt(fan_in)), member ``m`` drawn from
    a generator seeded with ``(seed, m)``."""
    shapes = {"w1": (f, h), "b1": (1, h), "w2": (h, h), "b2": (1, h), "w3": (h, 1), "b3": (1, 1)}
    fan_in = {"w1": f, "b1": f, "w2": h, "b2": h, "w3": h, "b3": h}
    stacks: dict[str, list[Tensor]] = {k: [] for k in PARAM_NAMES}
    for m in range(members):
        gen = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, m])
                                                .generate_state(1)[0]))
        for k in PARAM_NAMES:
            bound = 1.0 / math.sqrt(fan_in[k])
            stacks[k].append((torch.rand(shapes[k], generator=gen) * 2 - 1) * bound)
    return {k: torch.stack(v).requires_grad_(True) for k, v in stacks.items()}


def _sample_weights(members: int, n: int, seed: int, bootstrap: bool) -> Tensor:
    """Per-member sample weights ``(M, n)`` summing to 1: bootstrap counts / n, or uniform."""
    if not bootstrap:
        return torch.full((members, n), 1.0 / n)
    rng = np.random.default_rng([seed, 0x626F6F74])
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(members)])
    return torch.from_numpy((counts / n).astype(np.float32))
