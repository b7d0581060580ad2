"""Frame-by-frame inference of a causal exported subnet: ``step(frame, state) -> (logits,
state)``.

This is how an MCU keyword spotter runs a network: one input frame at a time, with persistent
state instead of the whole sequence in memory:

- conv layers keep a ring buffer of their last ``k - 1`` input frames (zeros at the start, as
  causal padding); a stride-``s`` layer emits an output on every ``s``-th input frame, and the
  layers after it run only then;
- LSTM blocks keep ``h`` and ``c``; SSM blocks their state ``(E, N)``, advanced by the recurrent
  form ``h = exp(dt A) h + dt B u``; attention blocks a key/value cache of every past frame;
- the head keeps the running sum of the last stage's outputs and their count;
- each raw frame is normalised as in training (per channel); a subnet of per-series normalised
  data is not streamable (its statistics need the whole sequence).

After frame ``t`` the logits equal the whole-sequence logits of the prefix ``x[..., :t+1]``
(up to float rounding), so the last step's logits are those of the whole sequence. A subnet
with a non-causal layer ('same' padding of a conv with ``k > 1``, or non-causal attention) is
not streamable: :func:`streaming_blocker` names the first such layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from nasx.export.blocks import AttentionBlock, ConvReLU, LSTMBlock, MBConvBlock, SSMBlock
from nasx.export.net import ExportedNet
from nasx.kernels.ssm_scan import ssm_step

State = dict[str, Tensor]


class NotStreamableError(ValueError):
    """The subnet has a layer that needs future frames."""


def streaming_blocker(net: ExportedNet) -> str | None:
    """``None`` when ``net`` is causal, else ``"<layer> is not causal"`` for its first
    non-causal layer."""
    if net.spec.input.normalization == "series":
        return "the input's per-series normalisation (it needs the whole sequence)"
    units: list[tuple[str, object]] = [("stem (conv)", net.stem)]
    for i, stage in enumerate(net.stages):
        units.append((f"stages[{i}].entry (conv)", stage.entry))
        units += [(f"stages[{i}].blocks[{j}] ({_op(b)})", b) for j, b in enumerate(stage.blocks)]
    for name, unit in units:
        if isinstance(unit, ConvReLU) and not unit.causal and unit.conv.weight.shape[-1] > 1:
            return f"{name} is not causal ('same' padding, kernel {unit.conv.weight.shape[-1]})"
        if isinstance(unit, MBConvBlock) and not unit.causal and unit.dw.weight.shape[-1] > 1:
            return f"{name} is not causal ('same' padding, kernel {unit.dw.weight.shape[-1]})"
        if isinstance(unit, AttentionBlock) and not unit.causal:
            return f"{name} is not causal (attention over the whole sequence)"
    return None


def _op(block: object) -> str:
    return {MBConvBlock: "conv", LSTMBlock: "lstm", SSMBlock: "ssm", AttentionBlock: "attn"}[
        type(block)]  # type: ignore[index]


class StreamingNet:
    """The streaming form of a causal :class:`ExportedNet` (see the module docstring).

    Example:
        >>> stream = StreamingNet(net)  # doctest: +SKIP
        >>> state = stream.init_state(batch=1)  # doctest: +SKIP
        >>> for t in range(x.shape[-1]):  # doctest: +SKIP
        ...     logits, state = stream.step(x[:, :, t], state)

    Raises:
        NotStreamableError: ``"not streamable: <layer> is not causal ..."``.
    """

    def __init__(self, net: ExportedNet) -> None:
        blocker = streaming_blocker(net)
        if blocker is not None:
            fix = ("train with per-channel normalisation" if net.spec.input.normalization ==
                   "series" else "train a space with 'causal: true'")
            raise NotStreamableError(f"not streamable: {blocker}; {fix} to get streamable "
                                     "subnets")
        self.net = net

    @torch.no_grad()
    def init_state(self, batch: int, device: torch.device | str = "cpu") -> State:
        """The state before the first frame: zero buffers, empty caches."""
        net, st = self.net, {}

        def zeros(*shape: int) -> Tensor:
            return torch.zeros(*shape, device=device)

        def conv_state(prefix: str, unit: ConvReLU) -> None:
            cin, k = unit.conv.weight.shape[1], unit.conv.weight.shape[-1]
            st[f"{prefix}.buf"] = zeros(batch, cin, k - 1)
            st[f"{prefix}.count"] = torch.zeros((), dtype=torch.long, device=device)

        conv_state("stem", net.stem)
        for i, stage in enumerate(net.stages):
            conv_state(f"stages.{i}.entry", stage.entry)
            for j, b in enumerate(stage.blocks):
                p = f"stages.{i}.blocks.{j}"
                if isinstance(b, MBConvBlock):
                    h, k = b.dw.weight.shape[0], b.dw.weight.shape[-1]
                    st[f"{p}.buf"] = zeros(batch, h, k - 1)
                elif isinstance(b, LSTMBlock):
                    st[f"{p}.h"], st[f"{p}.c"] = zeros(1, batch, b.hidden), zeros(1, batch,
                                                                                   b.hidden)
                elif isinstance(b, SSMBlock):
                    st[f"{p}.h"] = zeros(batch, *b.A.shape)
                elif isinstance(b, AttentionBlock):
                    st[f"{p}.k"] = zeros(batch, b.heads, 0, b.head_dim)
                    st[f"{p}.v"] = zeros(batch, b.heads, 0, b.head_dim)
        width = net.classifier.weight.shape[1]
        st["pool.sum"], st["pool.count"] = zeros(batch, width), zeros(())
        return st

    @torch.no_grad()
    def step(self, frame: Tensor, state: State) -> tuple[Tensor, State]:
        """Advance by one input frame ``(B, C)``: ``(logits (B, K), new state)``.

        ``state`` is not modified; the returned one replaces it.
        """
        st = dict(state)
        net = self.net
        if net.input_norm.mode == "channel":
            frame = (frame - net.input_norm.mean[:, :, 0]) / net.input_norm.std[:, :, 0]
        y = _conv_step("stem", net.stem, frame, st)
        for i, stage in enumerate(net.stages):
            if y is None:
                break
            y = _conv_step(f"stages.{i}.entry", stage.entry, y, st)
            for j, b in enumerate(stage.blocks):
                if y is None:
                    break
                y = _block_step(f"stages.{i}.blocks.{j}", b, y, st)
        if y is not None:
            st["pool.sum"] = st["pool.sum"] + y
            st["pool.count"] = st["pool.count"] + 1
        c = net.classifier
        pooled = st["pool.sum"] / st["pool.count"].clamp_min(1)
        return F.linear(pooled, c.w(), c.bias), st

    @torch.no_grad()
    def run(self, x: Tensor) -> Tensor:
        """Stream ``x (B, C, L)`` frame by frame from a fresh state: logits ``(B, K, L)``."""
        state = self.init_state(x.shape[0], x.device)
        outs = []
        for t in range(x.shape[-1]):
            logits, state = self.step(x[:, :, t], state)
            outs.append(logits)
        return torch.stack(outs, dim=-1)


def _conv_step(prefix: str, unit: ConvReLU, x: Tensor, st: State) -> Tensor | None:
    """One input frame ``(B, I)`` into a causal conv; ``(B, O)`` on every stride-th frame."""
    window = torch.cat([st[f"{prefix}.buf"], x.unsqueeze(-1)], dim=-1)  # (B, I, k)
    st[f"{prefix}.buf"] = window[:, :, 1:]
    count = st[f"{prefix}.count"]
    st[f"{prefix}.count"] = count + 1
    if int(count) % unit.stride:
        return None
    c = unit.conv
    return F.relu(F.conv1d(c.a(window), c.w(), c.bias)).squeeze(-1)


def _block_step(prefix: str, b: object, x: Tensor, st: State) -> Tensor:
    """One frame ``(B, W)`` through a residual block -> ``(B, W)``."""
    if isinstance(b, MBConvBlock):
        h = F.relu(F.conv1d(b.pw1.a(x.unsqueeze(-1)), b.pw1.w(), b.pw1.bias))  # (B, H, 1)
        window = torch.cat([st[f"{prefix}.buf"], h], dim=-1)  # (B, H, k)
        st[f"{prefix}.buf"] = window[:, :, 1:]
        h = F.relu(F.conv1d(b.dw.a(window), b.dw.w(), b.dw.bias, groups=h.shape[1]))
        return x + F.conv1d(b.pw2.a(h), b.pw2.w(), b.pw2.bias).squeeze(-1)
    if isinstance(b, LSTMBlock):
        xt = x.unsqueeze(1)  # (B, 1, W)
        h = b.ih.a(F.layer_norm(xt, (xt.shape[-1],), b.ln_weight, b.ln_bias))
        out, hn, cn = torch.lstm(h, [st[f"{prefix}.h"], st[f"{prefix}.c"]], b.lstm_params(),
                                 True, 1, 0.0, False, False, True)  # out (B, 1, H)
        st[f"{prefix}.h"], st[f"{prefix}.c"] = hn, cn
        return x + F.linear(b.proj.a(out[:, 0]), b.proj.w(), b.proj.bias)
    if isinstance(b, SSMBlock):
        h = b.in_proj.a(F.layer_norm(x, (x.shape[-1],), b.ln_weight, b.ln_bias))
        u, z = F.linear(h, b.in_proj.w(), b.in_proj.bias).chunk(2, dim=-1)  # (B, E) x2
        y, st[f"{prefix}.h"] = ssm_step(u, st[f"{prefix}.h"], b.dt, b.A, b.B, b.C, b.D)
        y = b.out_proj.a(y * F.silu(z))
        return x + F.linear(y, b.out_proj.w(), b.out_proj.bias)
    assert isinstance(b, AttentionBlock)
    batch, w = x.shape
    h = b.qkv.a(F.layer_norm(x, (w,), b.ln1_weight, b.ln1_bias))
    qkv = F.linear(h, b.qkv.w(), b.qkv.bias).view(batch, 3, b.heads, 1, b.head_dim)
    q, k, v = qkv.unbind(1)  # each (B, heads, 1, head_dim)
    keys = torch.cat([st[f"{prefix}.k"], k], dim=2)  # (B, heads, t + 1, head_dim)
    values = torch.cat([st[f"{prefix}.v"], v], dim=2)
    st[f"{prefix}.k"], st[f"{prefix}.v"] = keys, values
    att = F.scaled_dot_product_attention(q, keys, values).reshape(batch, b.heads * b.head_dim)
    x = x + F.linear(b.o.a(att), b.o.w(), b.o.bias)
    return b.ffn(x)
