"""Diagonal state-space (S4D-style) block: LayerNorm, in-projection to a signal and a gate,
time-invariant diagonal SSM over the sequence, gate, out-projection, residual.

Per inner channel ``e`` and state ``n``: ``A = -exp(A_log)``, ``dt = exp(log_dt)``;
``h[t] = exp(dt A) h[t-1] + dt B x[t]``, ``y[t] = C h[t] + D x[t]``, ``y *= silu(z)``.
Training and whole-sequence inference run the parallel path (a causal convolution with the
system's impulse response: direct or FFT); streaming runs the recurrent path
(:func:`nasx.kernels.ssm_scan.ssm_step`). Elastic: stage width ``W``, inner width
``E = round(expand * W)`` and state size ``N`` (first channels / first states).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasx.kernels.ssm_scan import ssm_scan, ssm_step
from nasx.ops.layout import inner_width
from nasx.ops.ssm import SSMSpace
from nasx.supernet.quant import ActQuant, qw


@dataclass
class SSMTensors:
    """Active tensors.

    ``in_w (2E, W)`` (rows: signal then gate), ``A_log, B, C (E, N)``, ``out_w (W, E)``.
    """

    ln_w: Tensor
    ln_b: Tensor
    in_w: Tensor
    in_b: Tensor
    A_log: Tensor
    log_dt: Tensor
    B: Tensor
    C: Tensor
    D: Tensor
    out_w: Tensor
    out_b: Tensor
    aq: tuple[ActQuant, ActQuant]


def recurrent_scan(u: Tensor, z: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor,
                   D: Tensor) -> Tensor:
    """The recurrent path: one :func:`ssm_step` per time step (what a streaming runtime does).

    ``u, z (Bt, E, L)`` -> ``(Bt, E, L)``; equal to the parallel path up to rounding.
    """
    h = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])  # (Bt, E, N)
    ys = []
    for step in range(u.shape[-1]):
        y_t, h = ssm_step(u[:, :, step], h, dt, A, B, C, D)
        ys.append(y_t)
    return torch.stack(ys, dim=-1) * F.silu(z)


def ssm_block_forward(x: Tensor, mask: Tensor, t: SSMTensors, *, wbits: int, abits: int,
                      recurrent: bool = False) -> Tensor:
    """``x (B, W, L)`` masked -> ``x + f(x)``, masked. Causal, so padding cannot leak back.

    ``recurrent`` selects the step-by-step path instead of the parallel (convolution) one.
    """
    xt = x.transpose(1, 2)  # (B, L, W)
    valid = mask.unsqueeze(-1)  # (B, L, 1)
    h = t.aq[0](F.layer_norm(xt, (xt.shape[-1],), t.ln_w, t.ln_b), abits, valid)
    u, z = F.linear(h, qw(t.in_w, wbits), t.in_b).transpose(1, 2).chunk(2, dim=1)  # (B, E, L) x2
    dt, A = torch.exp(t.log_dt), -torch.exp(t.A_log)
    if recurrent:
        y = recurrent_scan(u, z, dt, A, t.B, t.C, t.D)
    else:
        y = ssm_scan(u, dt, A, t.B, t.C, t.D, z)  # (B, E, L)
    y = t.aq[1](y.transpose(1, 2), abits, valid)  # (B, L, E)
    out = F.linear(y, qw(t.out_w, wbits), t.out_b)  # (B, L, W)
    return x + out.transpose(1, 2) * mask.unsqueeze(1)


def _init_ssm_params(e: int, n: int) -> dict[str, Tensor]:
    """S4D-Real initialisation: ``A = -(n + 1)``, ``dt`` log-uniform in [1e-3, 1e-1], ``B = 1``."""
    return {
        "A_log": torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(e, 1),
        "log_dt": torch.rand(e) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3),
        "B": torch.ones(e, n),
        "C": torch.randn(e, n) / math.sqrt(n),
        "D": torch.ones(e),
    }


class ElasticSSM(nn.Module):
    """Weight-sharing diagonal SSM block over widths, inner widths and state sizes."""

    def __init__(self, spec: SSMSpace, max_width: int, causal: bool) -> None:
        super().__init__()
        del causal  # always causal
        self.emax = inner_width(max_width, max(spec.expand))
        nmax = max(spec.state)
        self.ln = nn.LayerNorm(max_width)
        self.in_proj = nn.Linear(max_width, 2 * self.emax)
        self.out_proj = nn.Linear(self.emax, max_width)
        for name, value in _init_ssm_params(self.emax, nmax).items():
            setattr(self, name, nn.Parameter(value))
        self.aq = nn.ModuleList(ActQuant() for _ in range(2))

    def tensors(self, width: int, block: dict[str, Any]) -> SSMTensors:
        """Slices of the shared weights for ``width`` and ``block``."""
        e, n, em = inner_width(width, block["expand"]), block["state"], self.emax
        in_w = self.in_proj.weight.view(2, em, -1)[:, :e, :width].reshape(2 * e, width)
        in_b = self.in_proj.bias.view(2, em)[:, :e].reshape(2 * e)
        return SSMTensors(
            self.ln.weight[:width],
            self.ln.bias[:width],
            in_w,
            in_b,
            self.A_log[:e, :n],
            self.log_dt[:e],
            self.B[:e, :n],
            self.C[:e, :n],
            self.D[:e],
            self.out_proj.weight[:width, :e],
            self.out_proj.bias[:width],
            (self.aq[0], self.aq[1]),
        )

    def forward(self, x: Tensor, mask: Tensor, width: int, block: dict[str, Any]) -> Tensor:
        """``x (B, width, L)`` -> same shape."""
        return ssm_block_forward(
            x, mask, self.tensors(width, block), wbits=block["wbits"], abits=block["abits"]
        )

    def extract(self, width: int, block: dict[str, Any]) -> StaticSSM:
        """A static copy of the active choice."""
        t = self.tensors(width, block)
        out = StaticSSM(width, t.D.shape[0], block["state"], block["wbits"], block["abits"])
        for name in ("A_log", "log_dt", "B", "C", "D"):
            getattr(out, name).data.copy_(getattr(t, name).detach())
        pairs = (
            (out.ln.weight, t.ln_w),
            (out.ln.bias, t.ln_b),
            (out.in_proj.weight, t.in_w),
            (out.in_proj.bias, t.in_b),
            (out.out_proj.weight, t.out_w),
            (out.out_proj.bias, t.out_b),
        )
        for dst, src in pairs:
            dst.data.copy_(src.detach())
        out.aq.load_state_dict(self.aq.state_dict())
        return out


class StaticSSM(nn.Module):
    """Diagonal SSM block from plain LayerNorm / Linear layers and the SSM parameters."""

    def __init__(self, width: int, inner: int, state: int, wbits: int, abits: int) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(width)
        self.in_proj = nn.Linear(width, 2 * inner)
        self.out_proj = nn.Linear(inner, width)
        for name, value in _init_ssm_params(inner, state).items():
            setattr(self, name, nn.Parameter(value))
        self.aq = nn.ModuleList(ActQuant() for _ in range(2))
        self.wbits, self.abits = wbits, abits
        self.recurrent = False  # True: step-by-step path (same result, what streaming runs)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``x (B, W, L)`` -> same shape."""
        t = SSMTensors(
            self.ln.weight,
            self.ln.bias,
            self.in_proj.weight,
            self.in_proj.bias,
            self.A_log,
            self.log_dt,
            self.B,
            self.C,
            self.D,
            self.out_proj.weight,
            self.out_proj.bias,
            (self.aq[0], self.aq[1]),
        )
        return ssm_block_forward(x, mask, t, wbits=self.wbits, abits=self.abits,
                                 recurrent=self.recurrent)
