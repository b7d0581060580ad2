"""The modules of the ``mamba`` op (declared in :mod:`nasx.ops.mamba`).

The selective part ("mix") of a block, given the in-projection's signal ``u`` and gate ``z``
``(B, E, L)``::

    v        = silu(causal_dwconv(u) + conv_b)                  (B, E, L)  kernel K
    dt|B|C   = x_proj v                                         (B, R + 2N, L)
    dt       = softplus(dt_proj dt + dt_b)                      (B, E, L)
    y        = selective_scan(v, dt, A = -exp(A_log), B, C, D) * silu(z)

The supernet and the extracted block run :func:`nasx.kernels.causal_dwconv.causal_dwconv1d` and
the selective path of :func:`nasx.kernels.ssm_scan.ssm_scan` (Triton kernels on CUDA, their
pure-torch twins on CPU). The export block runs the same arithmetic with plain torch ops, the
scan as a ``while_loop`` over time when traced (``torch.export`` / ONNX with a dynamic length).

Kept apart from :mod:`nasx.ops.mamba` because it imports torch and the supernet's quantizers,
which import the search space: the registry imports this module only on first use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasx.export.layers import Layer, TensorReader, layer_tensors, read_layer
from nasx.kernels.causal_dwconv import causal_dwconv1d
from nasx.kernels.ssm_scan import ssm_scan
from nasx.ops.layout import inner_width
from nasx.ops.mamba import CONV_KERNEL, MambaSpace, dt_rank
from nasx.supernet.quant import ActQuant, qw


@dataclass
class MixParams:
    """The selective part's tensors (all fp32): ``conv_w (E, K)``, ``conv_b (E,)``,
    ``x_proj (R + 2N, E)`` (rows: dt, B, C), ``dt_w (E, R)``, ``dt_b (E,)``, ``A_log (E, N)``,
    ``D (E,)``."""

    conv_w: Tensor
    conv_b: Tensor
    x_proj: Tensor
    dt_w: Tensor
    dt_b: Tensor
    A_log: Tensor
    D: Tensor


MIX_NAMES = tuple(f.name for f in fields(MixParams))


def mix_shapes(e: int, n: int, r: int) -> dict[str, tuple[int, ...]]:
    """Shapes of the :class:`MixParams` tensors for inner width ``e``, state ``n``, rank ``r``."""
    return {"conv_w": (e, CONV_KERNEL), "conv_b": (e,), "x_proj": (r + 2 * n, e),
            "dt_w": (e, r), "dt_b": (e,), "A_log": (e, n), "D": (e,)}


def init_mix(e: int, n: int, r: int) -> dict[str, Tensor]:
    """Mamba's initialisation: ``A = -(n + 1)`` (S4D-Real), ``softplus(dt_b)`` log-uniform in
    [1e-3, 1e-1], ``D = 1``; convolution and projections uniform in ``+-1/sqrt(fan_in)``."""
    dt = torch.exp(torch.rand(e) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
    return {"conv_w": (torch.rand(e, CONV_KERNEL) * 2 - 1) / math.sqrt(CONV_KERNEL),
            "conv_b": (torch.rand(e) * 2 - 1) / math.sqrt(CONV_KERNEL),
            "x_proj": (torch.rand(r + 2 * n, e) * 2 - 1) / math.sqrt(e),
            "dt_w": (torch.rand(e, r) * 2 - 1) / math.sqrt(r),
            "dt_b": dt + torch.log(-torch.expm1(-dt)),  # softplus^-1(dt)
            "A_log": torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(e, 1),
            "D": torch.ones(e)}


def selective_params(v: Tensor, p: MixParams) -> tuple[Tensor, Tensor, Tensor]:
    """``v (Bt, E, L)`` -> ``dt (Bt, E, L)``, ``B``, ``C (Bt, N, L)``."""
    r, n = p.dt_w.shape[1], p.A_log.shape[1]
    dbc = F.linear(v.transpose(1, 2), p.x_proj)  # (Bt, L, R + 2N)
    dt = F.softplus(F.linear(dbc[..., :r], p.dt_w, p.dt_b)).transpose(1, 2)  # (Bt, E, L)
    b, c = dbc[..., r:r + n].transpose(1, 2), dbc[..., r + n:].transpose(1, 2)  # (Bt, N, L)
    return dt.contiguous(), b.contiguous(), c.contiguous()


def mamba_mix(u: Tensor, z: Tensor, p: MixParams) -> Tensor:
    """The selective part with the kernels: ``u, z (Bt, E, L)`` -> ``y (Bt, E, L)``."""
    v = causal_dwconv1d(u, p.conv_w, p.conv_b, "silu")  # (Bt, E, L)
    dt, b, c = selective_params(v, p)
    return ssm_scan(v, dt, -torch.exp(p.A_log), b, c, p.D, z)


@dataclass
class MambaTensors:
    """Active tensors: ``in_w (2E, W)`` (rows: signal then gate), ``out_w (W, E)``, the mix."""

    ln_w: Tensor
    ln_b: Tensor
    in_w: Tensor
    in_b: Tensor
    mix: MixParams
    out_w: Tensor
    out_b: Tensor
    aq: tuple[ActQuant, ActQuant]


def mamba_block_forward(x: Tensor, mask: Tensor, t: MambaTensors, *, wbits: int,
                        abits: int) -> Tensor:
    """``x (B, W, L)`` masked -> ``x + f(x)``, masked. Causal, so padding cannot leak back."""
    xt = x.transpose(1, 2)  # (B, L, W)
    valid = mask.unsqueeze(-1)  # (B, L, 1)
    h = t.aq[0](F.layer_norm(xt, (xt.shape[-1],), t.ln_w, t.ln_b), abits, valid)
    u, z = F.linear(h, qw(t.in_w, wbits), t.in_b).transpose(1, 2).chunk(2, dim=1)  # (B, E, L)
    y = t.aq[1](mamba_mix(u, z, t.mix).transpose(1, 2), abits, valid)  # (B, L, E)
    out = F.linear(y, qw(t.out_w, wbits), t.out_b)  # (B, L, W)
    return x + out.transpose(1, 2) * mask.unsqueeze(1)


def _quantizers(aq: nn.ModuleList) -> tuple[ActQuant, ActQuant]:
    a, b = aq[0], aq[1]
    assert isinstance(a, ActQuant) and isinstance(b, ActQuant)
    return a, b


def _param(module: nn.Module, name: str) -> Tensor:
    t = getattr(module, name)
    assert isinstance(t, Tensor), name
    return t


class ElasticMamba(nn.Module):
    """Weight-sharing selective SSM block over widths, inner widths and state sizes."""

    def __init__(self, spec: MambaSpace, max_width: int, causal: bool) -> None:
        super().__init__()
        del causal  # always causal
        self.emax, self.nmax = inner_width(max_width, max(spec.expand)), max(spec.state)
        self.rmax = dt_rank(max_width)
        self.ln = nn.LayerNorm(max_width)
        self.in_proj = nn.Linear(max_width, 2 * self.emax)
        self.out_proj = nn.Linear(self.emax, max_width)
        for name, value in init_mix(self.emax, self.nmax, self.rmax).items():
            setattr(self, name, nn.Parameter(value))
        self.aq = nn.ModuleList(ActQuant() for _ in range(2))

    def tensors(self, width: int, block: dict[str, Any]) -> MambaTensors:
        """Slices of the shared weights for ``width`` and ``block`` (``x_proj``: the first
        ``R`` dt rows, the first ``N`` B rows and the first ``N`` C rows)."""
        e, n, r, em = inner_width(width, block["expand"]), block["state"], dt_rank(width), \
            self.emax
        p = {k: _param(self, k) for k in MIX_NAMES}
        xp, rm, nm = p["x_proj"], self.rmax, self.nmax
        x_proj = torch.cat([xp[:r, :e], xp[rm:rm + n, :e], xp[rm + nm:rm + nm + n, :e]])
        mix = MixParams(p["conv_w"][:e], p["conv_b"][:e], x_proj, p["dt_w"][:e, :r],
                        p["dt_b"][:e], p["A_log"][:e, :n], p["D"][:e])
        in_w = self.in_proj.weight.view(2, em, -1)[:, :e, :width].reshape(2 * e, width)
        in_b = self.in_proj.bias.view(2, em)[:, :e].reshape(2 * e)
        return MambaTensors(self.ln.weight[:width], self.ln.bias[:width], in_w, in_b, mix,
                            self.out_proj.weight[:width, :e], self.out_proj.bias[:width],
                            _quantizers(self.aq))

    def forward(self, x: Tensor, mask: Tensor, width: int, block: dict[str, Any]) -> Tensor:
        """``x (B, width, L)`` -> same shape."""
        return mamba_block_forward(x, mask, self.tensors(width, block), wbits=block["wbits"],
                                   abits=block["abits"])

    def extract(self, width: int, block: dict[str, Any]) -> StaticMamba:
        """A static copy of the active choice."""
        t = self.tensors(width, block)
        out = StaticMamba(width, t.mix.D.shape[0], block["state"], block["wbits"],
                          block["abits"])
        pairs = [(out.ln.weight, t.ln_w), (out.ln.bias, t.ln_b), (out.in_proj.weight, t.in_w),
                 (out.in_proj.bias, t.in_b), (out.out_proj.weight, t.out_w),
                 (out.out_proj.bias, t.out_b)]
        pairs += [(_param(out, k), getattr(t.mix, k)) for k in MIX_NAMES]
        for dst, src in pairs:
            dst.data.copy_(src.detach())
        out.aq.load_state_dict(self.aq.state_dict())
        return out


class StaticMamba(nn.Module):
    """Selective SSM block from plain LayerNorm / Linear layers and the mix parameters."""

    def __init__(self, width: int, inner: int, state: int, wbits: int, abits: int) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(width)
        self.in_proj = nn.Linear(width, 2 * inner)
        self.out_proj = nn.Linear(inner, width)
        for name, value in init_mix(inner, state, dt_rank(width)).items():
            setattr(self, name, nn.Parameter(value))
        self.aq = nn.ModuleList(ActQuant() for _ in range(2))
        self.wbits, self.abits = wbits, abits

    def mix_params(self) -> MixParams:
        """The selective part's parameters."""
        return MixParams(*(_param(self, k) for k in MIX_NAMES))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``x (B, W, L)`` -> same shape."""
        t = MambaTensors(self.ln.weight, self.ln.bias, self.in_proj.weight, self.in_proj.bias,
                         self.mix_params(), self.out_proj.weight, self.out_proj.bias,
                         _quantizers(self.aq))
        return mamba_block_forward(x, mask, t, wbits=self.wbits, abits=self.abits)


def loop_scan(v: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor,
              z: Tensor) -> Tensor:
    """The selective scan as a ``while_loop`` over time (traceable with a dynamic length);
    arguments and result as :func:`nasx.kernels.ssm_scan.ssm_scan_ref`."""
    from torch._higher_order_ops.while_loop import while_loop

    decay = torch.exp(dt.unsqueeze(2) * A.unsqueeze(-1)).permute(3, 0, 1, 2)  # (L, Bt, E, N)
    drive = ((dt.unsqueeze(2) * B.unsqueeze(1)) * v.unsqueeze(2)).permute(3, 0, 1, 2)
    c = C.permute(2, 0, 1).unsqueeze(2).clone()  # (L, Bt, 1, N)
    out = v.new_empty(v.shape[2], v.shape[0], v.shape[1])  # (L, Bt, E)

    # The length is read from a captured tensor, never captured as a symbolic int (a symbolic
    # int among the loop's inputs does not serialise to .pt2).
    def cond(i: Tensor, out: Tensor, h: Tensor) -> Tensor:
        return i < decay.size(0)

    def body(idx: Tensor, out: Tensor, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        at = idx.view(1)  # a tensor index: no data-dependent int in the graph
        h = decay.index_select(0, at)[0] * h + drive.index_select(0, at)[0]
        y = (h * c.index_select(0, at)[0]).sum(-1)  # (Bt, E)
        return idx + 1, out.index_copy(0, at, y.unsqueeze(0)), h

    h0 = v.new_zeros(v.shape[0], v.shape[1], A.shape[1])  # (Bt, E, N)
    _, out, _ = while_loop(cond, body, [torch.tensor(0, dtype=torch.int64), out, h0])
    return (out.permute(1, 2, 0) + D.unsqueeze(-1) * v) * F.silu(z)


class MambaBlock(nn.Module):
    """The exported selective SSM block: LayerNorm, in-projection, convolution + SiLU,
    selective scan, gate, out-projection, residual. In eager mode the scan is
    :func:`~nasx.kernels.ssm_scan.ssm_scan` (Triton on CUDA); ``traceable = True`` (set while
    exporting) takes :func:`loop_scan`."""

    ln_weight: Tensor  # (W,) buffers
    ln_bias: Tensor
    A: Tensor  # (E, N) = -exp(A_log)

    def __init__(self, ln_weight: Tensor, ln_bias: Tensor, in_proj: Layer, out_proj: Layer,
                 mix: MixParams) -> None:
        super().__init__()
        self.register_buffer("ln_weight", ln_weight.detach().float().contiguous())
        self.register_buffer("ln_bias", ln_bias.detach().float().contiguous())
        self.in_proj, self.out_proj, self.traceable = in_proj, out_proj, False
        for name in MIX_NAMES:
            self.register_buffer(name, getattr(mix, name).detach().float().contiguous())
        self.register_buffer("A", -torch.exp(_param(self, "A_log")), persistent=False)

    def mix(self) -> MixParams:
        """The selective part's tensors."""
        return MixParams(*(_param(self, k) for k in MIX_NAMES))

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x (B, W, L)`` -> same shape; causal."""
        xt = x.transpose(1, 2)  # (B, L, W)
        h = self.in_proj.a(F.layer_norm(xt, (xt.shape[-1],), self.ln_weight, self.ln_bias))
        uz = F.linear(h, self.in_proj.w(), self.in_proj.bias).transpose(1, 2)  # (B, 2E, L)
        u, z = uz.chunk(2, dim=1)  # (B, E, L) each
        p = self.mix()
        k = p.conv_w.shape[-1]
        v = F.silu(F.conv1d(F.pad(u, (k - 1, 0)), p.conv_w.unsqueeze(1), p.conv_b,
                            groups=u.shape[1]))  # (B, E, L), causal
        dt, b, c = selective_params(v, p)
        scan = loop_scan if self.traceable else ssm_scan
        y = self.out_proj.a(scan(v, dt, self.A, b, c, p.D, z).transpose(1, 2))  # (B, L, E)
        out = F.linear(y, self.out_proj.w(), self.out_proj.bias).transpose(1, 2)  # (B, W, L)
        return x + (out if mask is None else out * mask.unsqueeze(1))

    def frame(self, x: Tensor, window: Tensor, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One frame ``x (B, W)``, the convolution's last frames ``window (B, E, K - 1)`` and
        the scan state ``h (B, E, N)`` -> ``(y (B, W), window, h)``."""
        p, n = self.mix(), self.A.shape[1]
        r = p.dt_w.shape[1]
        hn = self.in_proj.a(F.layer_norm(x, (x.shape[-1],), self.ln_weight, self.ln_bias))
        u, z = F.linear(hn, self.in_proj.w(), self.in_proj.bias).chunk(2, dim=-1)  # (B, E)
        win = torch.cat([window, u.unsqueeze(-1)], dim=-1)  # (B, E, K)
        v = F.silu(F.conv1d(win, p.conv_w.unsqueeze(1), p.conv_b, groups=u.shape[1]))[..., 0]
        dbc = F.linear(v, p.x_proj)  # (B, R + 2N)
        dt = F.softplus(F.linear(dbc[:, :r], p.dt_w, p.dt_b)).unsqueeze(-1)  # (B, E, 1)
        b, c = dbc[:, r:r + n].unsqueeze(1), dbc[:, r + n:].unsqueeze(1)  # (B, 1, N)
        h = torch.exp(dt * self.A) * h + (dt * b) * v.unsqueeze(-1)  # (B, E, N)
        y = ((h * c).sum(-1) + p.D * v) * F.silu(z)  # (B, E)
        y = F.linear(self.out_proj.a(y), self.out_proj.w(), self.out_proj.bias)
        return x + y, win[:, :, 1:], h

    def tensors(self, prefix: str) -> dict[str, Tensor]:
        """File tensors under ``prefix``."""
        return {f"{prefix}.ln.weight": self.ln_weight, f"{prefix}.ln.bias": self.ln_bias,
                **layer_tensors(f"{prefix}.in_proj", self.in_proj),
                **layer_tensors(f"{prefix}.out_proj", self.out_proj),
                **{f"{prefix}.{k}": _param(self, k) for k in MIX_NAMES}}

    @classmethod
    def read(cls, r: TensorReader, prefix: str, width: int, block: dict[str, Any]) -> MambaBlock:
        """Rebuild from file tensors."""
        e, wb, ab = inner_width(width, block["expand"]), block["wbits"], block["abits"]
        shapes = mix_shapes(e, block["state"], dt_rank(width))
        return cls(r.get(f"{prefix}.ln.weight", (width,)), r.get(f"{prefix}.ln.bias", (width,)),
                   read_layer(r, f"{prefix}.in_proj", (2 * e, width), wb, ab),
                   read_layer(r, f"{prefix}.out_proj", (width, e), wb, ab),
                   MixParams(*(r.get(f"{prefix}.{k}", s) for k, s in shapes.items())))
