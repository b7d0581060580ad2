"""Blocks of an exported subnet: folded conv + ReLU (stem, stage entries), MBConv, LSTM, SSM and
attention, built from :class:`~nasx.export.layers.Layer` objects.

Each block computes what the supernet's block computes for its arch, with BatchNorm folded
into the preceding convolution (``w' = w * g``, ``b' = beta - mean * g``,
``g = gamma / sqrt(var + eps)``). ``forward(x (B, W, L), mask (B, L) | None)``: with
``mask=None`` every step is valid and no masking is done (the fast path for full-length
batches). Each block also knows its file tensors (``tensors(prefix)``) and how to be rebuilt
from them (``read``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasx.export.layers import Layer, TensorReader, layer_tensors, read_layer
from nasx.kernels.ssm_scan import ssm_scan
from nasx.search_spaces import inner_width

# Up to this many steps the direct convolution beats the FFT path on CPU (as in nasx.kernels).
DIRECT_SCAN_MAX_LEN = 128


def same_or_causal_conv(x: Tensor, w: Tensor, b: Tensor | None, stride: int, causal: bool,
                        groups: int = 1) -> Tensor:
    """``x (B, I, L)`` -> ``(B, O, ceil(L / stride))``: 'same' padding, or ``k - 1`` steps on
    the left when ``causal``."""
    k = w.shape[-1]
    if causal and k > 1:
        return F.conv1d(F.pad(x, (k - 1, 0)), w, b, stride=stride, groups=groups)
    return F.conv1d(x, w, b, stride=stride, padding=k // 2, groups=groups)


def _masked(x: Tensor, mask: Tensor | None) -> Tensor:
    """``x (B, C, L)`` with padded steps zeroed (unchanged when ``mask`` is None)."""
    return x if mask is None else x * mask.unsqueeze(1)


def _norm_buffers(module: nn.Module, name: str, weight: Tensor, bias: Tensor) -> None:
    module.register_buffer(f"{name}_weight", weight.detach().float().contiguous())
    module.register_buffer(f"{name}_bias", bias.detach().float().contiguous())


def _read_norm(r: TensorReader, prefix: str, width: int) -> tuple[Tensor, Tensor]:
    return r.get(f"{prefix}.weight", (width,)), r.get(f"{prefix}.bias", (width,))


class ConvReLU(nn.Module):
    """Stem / stage entry: conv (BatchNorm folded in) + ReLU, stride, 'same' or causal."""

    def __init__(self, conv: Layer, stride: int, causal: bool) -> None:
        super().__init__()
        self.conv, self.stride, self.causal = conv, stride, causal

    def forward(self, x: Tensor, lengths: Tensor | None
                ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """``x (B, I, L)`` -> ``(y (B, O, ceil(L/s)), lengths, mask)`` (None, None unmasked)."""
        c = self.conv
        y = F.relu(same_or_causal_conv(c.a(x), c.w(), c.bias, self.stride, self.causal))
        if lengths is None:
            return y, None, None
        if self.stride > 1:
            lengths = torch.div(lengths + self.stride - 1, self.stride, rounding_mode="floor")
        mask = torch.arange(y.shape[-1], device=y.device)[None, :] < lengths[:, None]  # (B, L')
        return y * mask.unsqueeze(1), lengths, mask

    def tensors(self, prefix: str) -> dict[str, Tensor]:
        """File tensors under ``prefix``."""
        return layer_tensors(prefix, self.conv)

    @classmethod
    def read(cls, r: TensorReader, prefix: str, cin: int, cout: int, k: int, stride: int,
             causal: bool, wbits: int, abits: int) -> ConvReLU:
        """Rebuild from file tensors."""
        return cls(read_layer(r, prefix, (cout, cin, k), wbits, abits), stride, causal)


class MBConvBlock(nn.Module):
    """Pointwise expand + ReLU, depthwise conv + ReLU, pointwise project, residual."""

    def __init__(self, pw1: Layer, dw: Layer, pw2: Layer, causal: bool) -> None:
        super().__init__()
        self.pw1, self.dw, self.pw2, self.causal = pw1, dw, pw2, causal

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x (B, W, L)`` -> same shape."""
        p1, dw, p2 = self.pw1, self.dw, self.pw2
        h = _masked(F.relu(F.conv1d(p1.a(x), p1.w(), p1.bias)), mask)  # (B, H, L)
        h = same_or_causal_conv(dw.a(h), dw.w(), dw.bias, 1, self.causal, h.shape[1])
        h = _masked(F.relu(h), mask)
        return x + _masked(F.conv1d(p2.a(h), p2.w(), p2.bias), mask)

    def tensors(self, prefix: str) -> dict[str, Tensor]:
        """File tensors under ``prefix``."""
        return {**layer_tensors(f"{prefix}.pw1", self.pw1),
                **layer_tensors(f"{prefix}.dw", self.dw),
                **layer_tensors(f"{prefix}.pw2", self.pw2)}

    @classmethod
    def read(cls, r: TensorReader, prefix: str, width: int, block: dict[str, Any],
             causal: bool) -> MBConvBlock:
        """Rebuild from file tensors."""
        h, k, wb, ab = inner_width(width, block["expand"]), block["kernel"], block["wbits"], \
            block["abits"]
        return cls(read_layer(r, f"{prefix}.pw1", (h, width, 1), wb, ab),
                   read_layer(r, f"{prefix}.dw", (h, 1, k), wb, ab),
                   read_layer(r, f"{prefix}.pw2", (width, h, 1), wb, ab), causal)


class LSTMBlock(nn.Module):
    """LayerNorm, unidirectional LSTM (torch's fused kernel), linear projection, residual."""

    def __init__(self, ln_weight: Tensor, ln_bias: Tensor, ih: Layer, hh: Layer,
                 proj: Layer) -> None:
        super().__init__()
        _norm_buffers(self, "ln", ln_weight, ln_bias)
        self.ih, self.hh, self.proj = ih, hh, proj
        self.hidden = hh.weight.shape[1]

    def lstm_params(self) -> list[Tensor]:
        """``[w_ih (4H, W), w_hh (4H, H), b_ih, b_hh]`` in torch's gate order i, f, g, o."""
        assert self.ih.bias is not None and self.hh.bias is not None
        return [self.ih.w(), self.hh.w(), self.ih.bias, self.hh.bias]

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x (B, W, L)`` -> same shape; causal, so padding at the end cannot leak back."""
        xt = x.transpose(1, 2)  # (B, L, W)
        h = self.ih.a(F.layer_norm(xt, (xt.shape[-1],), self.ln_weight, self.ln_bias))
        zeros = h.new_zeros(1, h.shape[0], self.hidden)  # (layers, B, H)
        out = torch.lstm(h, [zeros, zeros], self.lstm_params(), True, 1, 0.0, False, False,
                         True)[0]  # (B, L, H)
        y = F.linear(self.proj.a(out), self.proj.w(), self.proj.bias)  # (B, L, W)
        return x + _masked(y.transpose(1, 2), mask)

    def tensors(self, prefix: str) -> dict[str, Tensor]:
        """File tensors under ``prefix``."""
        return {f"{prefix}.ln.weight": self.ln_weight, f"{prefix}.ln.bias": self.ln_bias,
                **layer_tensors(f"{prefix}.ih", self.ih), **layer_tensors(f"{prefix}.hh", self.hh),
                **layer_tensors(f"{prefix}.proj", self.proj)}

    @classmethod
    def read(cls, r: TensorReader, prefix: str, width: int, block: dict[str, Any]) -> LSTMBlock:
        """Rebuild from file tensors (``hh`` has no input quantizer: the state stays float)."""
        h, wb, ab = inner_width(width, block["hidden"]), block["wbits"], block["abits"]
        return cls(*_read_norm(r, f"{prefix}.ln", width),
                   read_layer(r, f"{prefix}.ih", (4 * h, width), wb, ab),
                   read_layer(r, f"{prefix}.hh", (4 * h, h), wb, None),
                   read_layer(r, f"{prefix}.proj", (width, h), wb, ab))


class SSMBlock(nn.Module):
    """LayerNorm, in-projection to signal ``u`` and gate ``z``, diagonal S4D-style SSM,
    ``y * silu(z)``, out-projection, residual (``A = -exp(A_log)``, ``dt = exp(log_dt)``).

    The scan is a causal depthwise convolution with the impulse response
    ``K[e, l] = sum_n C B dt exp(dt A l)`` computed for the input's length (what ``torch.export``
    and ONNX take with a dynamic length). In eager mode, sequences longer than
    ``DIRECT_SCAN_MAX_LEN`` and CUDA tensors use the supernet's scan
    (:func:`nasx.kernels.ssm_scan.ssm_scan`: FFT convolution on CPU, the Triton scan on CUDA);
    ``traceable = True`` (set while exporting) always takes the convolution.
    """

    def __init__(self, ln_weight: Tensor, ln_bias: Tensor, in_proj: Layer, out_proj: Layer,
                 ssm: dict[str, Tensor]) -> None:
        super().__init__()
        _norm_buffers(self, "ln", ln_weight, ln_bias)
        self.in_proj, self.out_proj, self.traceable = in_proj, out_proj, False
        for name in ("A_log", "log_dt", "B", "C", "D"):
            self.register_buffer(name, ssm[name].detach().float().contiguous())
        self.register_buffer("dt", torch.exp(self.log_dt), persistent=False)  # (E,)
        self.register_buffer("A", -torch.exp(self.A_log), persistent=False)  # (E, N)
        self.register_buffer("dtA", self.dt.unsqueeze(-1) * self.A, persistent=False)  # (E, N)
        cbdt = (self.C * self.B * self.dt.unsqueeze(-1)).unsqueeze(1)  # (E, 1, N)
        self.register_buffer("cbdt", cbdt, persistent=False)

    def scan(self, u: Tensor, z: Tensor) -> Tensor:
        """``u, z (B, E, L)`` -> gated SSM output ``(B, E, L)``."""
        length = u.shape[-1]
        if not self.traceable and (length > DIRECT_SCAN_MAX_LEN or u.is_cuda):
            return ssm_scan(u, self.dt, self.A, self.B, self.C, self.D, z)  # FFT / Triton
        steps = torch.arange(length, device=u.device, dtype=u.dtype)  # (L,)
        k = torch.bmm(self.cbdt, torch.exp(self.dtA.unsqueeze(-1) * steps))  # (E, 1, L)
        y = F.conv1d(F.pad(u, (length - 1, 0)), k.flip(-1), groups=u.shape[1])  # causal
        return (y + self.D.unsqueeze(-1) * u) * F.silu(z)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x (B, W, L)`` -> same shape; causal."""
        xt = x.transpose(1, 2)  # (B, L, W)
        h = self.in_proj.a(F.layer_norm(xt, (xt.shape[-1],), self.ln_weight, self.ln_bias))
        uz = F.linear(h, self.in_proj.w(), self.in_proj.bias).transpose(1, 2)  # (B, 2E, L)
        u, z = uz.chunk(2, dim=1)  # (B, E, L) each
        y = self.out_proj.a(self.scan(u, z).transpose(1, 2))  # (B, L, E)
        out = F.linear(y, self.out_proj.w(), self.out_proj.bias)  # (B, L, W)
        return x + _masked(out.transpose(1, 2), mask)

    def tensors(self, prefix: str) -> dict[str, Tensor]:
        """File tensors under ``prefix``."""
        out = {f"{prefix}.ln.weight": self.ln_weight, f"{prefix}.ln.bias": self.ln_bias,
               **layer_tensors(f"{prefix}.in_proj", self.in_proj),
               **layer_tensors(f"{prefix}.out_proj", self.out_proj)}
        for name in ("A_log", "log_dt", "B", "C", "D"):
            out[f"{prefix}.{name}"] = getattr(self, name)
        return out

    @classmethod
    def read(cls, r: TensorReader, prefix: str, width: int, block: dict[str, Any]) -> SSMBlock:
        """Rebuild from file tensors."""
        e, n, wb, ab = inner_width(width, block["expand"]), block["state"], block["wbits"], \
            block["abits"]
        shapes = {"A_log": (e, n), "log_dt": (e,), "B": (e, n), "C": (e, n), "D": (e,)}
        return cls(*_read_norm(r, f"{prefix}.ln", width),
                   read_layer(r, f"{prefix}.in_proj", (2 * e, width), wb, ab),
                   read_layer(r, f"{prefix}.out_proj", (width, e), wb, ab),
                   {k: r.get(f"{prefix}.{k}", s) for k, s in shapes.items()})


def attention_mask(mask: Tensor | None, causal: bool, length: int,
                   device: torch.device) -> Tensor | None:
    """SDPA boolean mask: keys ``(B, 1, 1, L)`` and/or causal ``(L, L)``; None if neither."""
    tril = torch.ones(length, length, dtype=torch.bool, device=device).tril() if causal else None
    if mask is None:
        return tril
    keys = mask[:, None, None, :]  # (B, 1, 1, L)
    return keys if tril is None else keys & tril


class AttentionBlock(nn.Module):
    """Pre-norm multi-head self-attention (SDPA) + pre-norm GELU FFN, both residual."""

    def __init__(self, ln1: tuple[Tensor, Tensor], qkv: Layer, o: Layer,
                 ln2: tuple[Tensor, Tensor], fc1: Layer, fc2: Layer, head_dim: int,
                 causal: bool) -> None:
        super().__init__()
        _norm_buffers(self, "ln1", *ln1)
        _norm_buffers(self, "ln2", *ln2)
        self.qkv, self.o, self.fc1, self.fc2 = qkv, o, fc1, fc2
        self.head_dim, self.causal = head_dim, causal
        self.heads = qkv.weight.shape[0] // (3 * head_dim)

    def ffn(self, xt: Tensor) -> Tensor:
        """The residual FFN half on ``xt (..., W)``."""
        w = xt.shape[-1]
        h = self.fc1.a(F.layer_norm(xt, (w,), self.ln2_weight, self.ln2_bias))
        h = F.gelu(F.linear(h, self.fc1.w(), self.fc1.bias))  # (..., F)
        return xt + F.linear(self.fc2.a(h), self.fc2.w(), self.fc2.bias)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x (B, W, L)`` -> same shape."""
        xt = x.transpose(1, 2)  # (B, L, W)
        b, length, w = xt.shape
        h = self.qkv.a(F.layer_norm(xt, (w,), self.ln1_weight, self.ln1_bias))
        qkv = F.linear(h, self.qkv.w(), self.qkv.bias)
        q, k, v = qkv.view(b, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4) \
            .unbind(0)  # each (B, heads, L, head_dim)
        att = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attention_mask(mask, self.causal, length, x.device))
        att = att.transpose(1, 2).reshape(b, length, self.heads * self.head_dim)
        xt = xt + F.linear(self.o.a(att), self.o.w(), self.o.bias)
        return _masked(self.ffn(xt).transpose(1, 2), mask)

    def tensors(self, prefix: str) -> dict[str, Tensor]:
        """File tensors under ``prefix``."""
        return {f"{prefix}.ln1.weight": self.ln1_weight, f"{prefix}.ln1.bias": self.ln1_bias,
                f"{prefix}.ln2.weight": self.ln2_weight, f"{prefix}.ln2.bias": self.ln2_bias,
                **layer_tensors(f"{prefix}.qkv", self.qkv), **layer_tensors(f"{prefix}.o", self.o),
                **layer_tensors(f"{prefix}.fc1", self.fc1),
                **layer_tensors(f"{prefix}.fc2", self.fc2)}

    @classmethod
    def read(cls, r: TensorReader, prefix: str, width: int, block: dict[str, Any],
             head_dim: int, causal: bool) -> AttentionBlock:
        """Rebuild from file tensors."""
        inner, f = block["heads"] * head_dim, inner_width(width, block["ffn"])
        wb, ab = block["wbits"], block["abits"]
        return cls(_read_norm(r, f"{prefix}.ln1", width),
                   read_layer(r, f"{prefix}.qkv", (3 * inner, width), wb, ab),
                   read_layer(r, f"{prefix}.o", (width, inner), wb, ab),
                   _read_norm(r, f"{prefix}.ln2", width),
                   read_layer(r, f"{prefix}.fc1", (f, width), wb, ab),
                   read_layer(r, f"{prefix}.fc2", (width, f), wb, ab), head_dim, causal)
