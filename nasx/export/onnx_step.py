"""``model_step.onnx``: the streaming form of a causal subnet as one ONNX graph,
``(frame, *state) -> (logits, *state)``, with fixed-shape state for a runtime that keeps the
tensors between calls (batch 1).

:class:`StepGraph` computes what :class:`~nasx.export.streaming.StreamingNet` computes, with
every data-dependent choice written as tensor arithmetic: a strided conv updates the layers
after it only on every ``s``-th frame (``torch.where`` on its frame counter), and an attention
block's key/value cache is preallocated for ``capacity`` frames and masked beyond the frames
seen. State names and shapes: :meth:`StepGraph.state_spec`; all zeros is the initial state.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasx.export.blocks import AttentionBlock, ConvReLU, LSTMBlock, MBConvBlock, SSMBlock
from nasx.export.net import ExportedNet
from nasx.export.streaming import StreamingNet


def _push(window: Tensor, x: Tensor) -> Tensor:
    """``window (1, C, k-1)`` + frame ``x (1, C)`` -> the full window ``(1, C, k)``."""
    return torch.cat([window, x.unsqueeze(-1)], dim=-1)


class StepGraph(nn.Module):
    """One frame of a causal :class:`ExportedNet` with explicit state (module docstring)."""

    def __init__(self, net: ExportedNet, capacity: int) -> None:
        super().__init__()
        StreamingNet(net)  # raises NotStreamableError for a non-causal subnet
        self.net, self.capacity = net, capacity
        self.spec: list[tuple[str, tuple[int, ...]]] = []
        self._build_spec()

    def _build_spec(self) -> None:
        net, cap = self.net, self.capacity

        def conv(name: str, unit: ConvReLU) -> None:
            cin, k = unit.conv.weight.shape[1], unit.conv.weight.shape[-1]
            self.spec += [(f"{name}.window", (1, cin, k - 1)), (f"{name}.count", (1,))]

        conv("stem", net.stem)
        frames = -(-cap // net.stem.stride)
        for i, stage in enumerate(net.stages):
            conv(f"stages.{i}.entry", stage.entry)
            frames = -(-frames // stage.entry.stride)
            for j, b in enumerate(stage.blocks):
                p = f"stages.{i}.blocks.{j}"
                if isinstance(b, MBConvBlock):
                    self.spec.append((f"{p}.window", (1, b.dw.weight.shape[0],
                                                      b.dw.weight.shape[-1] - 1)))
                elif isinstance(b, LSTMBlock):
                    self.spec += [(f"{p}.h", (1, 1, b.hidden)), (f"{p}.c", (1, 1, b.hidden))]
                elif isinstance(b, SSMBlock):
                    self.spec.append((f"{p}.h", (1, *b.A.shape)))
                else:
                    shape = (1, b.heads, frames, b.head_dim)
                    self.spec += [(f"{p}.k", shape), (f"{p}.v", shape), (f"{p}.count", (1,))]
        width = net.classifier.weight.shape[1]
        self.spec += [("pool.sum", (1, width)), ("pool.count", (1,))]

    def state_spec(self) -> list[tuple[str, tuple[int, ...]]]:
        """``(name, shape)`` of every state tensor, in argument order (float32)."""
        return list(self.spec)

    def init_state(self) -> list[Tensor]:
        """The state before the first frame: zeros."""
        return [torch.zeros(shape) for _, shape in self.spec]

    def forward(self, frame: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        """``frame (1, C)`` raw, ``state`` -> ``(logits (1, K), *new state)``."""
        st = dict(zip((n for n, _ in self.spec), state, strict=True))
        new: dict[str, Tensor] = {}
        net = self.net
        if net.input_norm.mode == "channel":
            frame = (frame - net.input_norm.mean[:, :, 0]) / net.input_norm.std[:, :, 0]
        live = torch.ones(1, dtype=torch.bool)  # this frame reaches the current layer
        y, live = self._conv("stem", net.stem, frame, st, new, live)
        for i, stage in enumerate(net.stages):
            y, live = self._conv(f"stages.{i}.entry", stage.entry, y, st, new, live)
            for j, b in enumerate(stage.blocks):
                y = self._block(f"stages.{i}.blocks.{j}", b, y, st, new, live)
        new["pool.sum"] = torch.where(live[:, None], st["pool.sum"] + y, st["pool.sum"])
        new["pool.count"] = st["pool.count"] + live.float()
        c = net.classifier
        logits = F.linear(new["pool.sum"] / new["pool.count"].clamp_min(1)[:, None], c.w(),
                          c.bias)
        return (logits, *(new[n] for n, _ in self.spec))

    def _conv(self, name: str, unit: ConvReLU, x: Tensor, st: dict[str, Tensor],
              new: dict[str, Tensor], live: Tensor) -> tuple[Tensor, Tensor]:
        window = _push(st[f"{name}.window"], x)  # (1, I, k)
        new[f"{name}.window"] = torch.where(live[:, None, None], window[:, :, 1:],
                                            st[f"{name}.window"])
        count = st[f"{name}.count"]
        new[f"{name}.count"] = count + live.float()
        emits = live & (torch.remainder(count, unit.stride) == 0)
        c = unit.conv
        return F.relu(F.conv1d(c.a(window), c.w(), c.bias)).squeeze(-1), emits

    def _block(self, p: str, b: nn.Module, x: Tensor, st: dict[str, Tensor],
               new: dict[str, Tensor], live: Tensor) -> Tensor:
        def keep(name: str, value: Tensor) -> None:
            mask = live.reshape(-1, *([1] * (value.dim() - 1)))
            new[name] = torch.where(mask, value, st[name])

        if isinstance(b, MBConvBlock):
            h = F.relu(F.conv1d(b.pw1.a(x.unsqueeze(-1)), b.pw1.w(), b.pw1.bias))  # (1, H, 1)
            window = torch.cat([st[f"{p}.window"], h], dim=-1)  # (1, H, k)
            keep(f"{p}.window", window[:, :, 1:])
            h = F.relu(F.conv1d(b.dw.a(window), b.dw.w(), b.dw.bias, groups=h.shape[1]))
            return x + F.conv1d(b.pw2.a(h), b.pw2.w(), b.pw2.bias).squeeze(-1)
        if isinstance(b, LSTMBlock):
            xt = x.unsqueeze(1)  # (1, 1, W)
            h = b.ih.a(F.layer_norm(xt, (xt.shape[-1],), b.ln_weight, b.ln_bias))
            out, hn, cn = torch.lstm(h, [st[f"{p}.h"], st[f"{p}.c"]], b.lstm_params(), True, 1,
                                     0.0, False, False, True)
            keep(f"{p}.h", hn)
            keep(f"{p}.c", cn)
            return x + F.linear(b.proj.a(out[:, 0]), b.proj.w(), b.proj.bias)
        if isinstance(b, SSMBlock):
            h = b.in_proj.a(F.layer_norm(x, (x.shape[-1],), b.ln_weight, b.ln_bias))
            u, z = F.linear(h, b.in_proj.w(), b.in_proj.bias).chunk(2, dim=-1)  # (1, E)
            state = torch.exp(b.dtA) * st[f"{p}.h"] + (b.dt.unsqueeze(-1) * b.B) * u[..., None]
            keep(f"{p}.h", state)
            y = (state * b.C).sum(-1) + b.D * u
            y = b.out_proj.a(y * F.silu(z))
            return x + F.linear(y, b.out_proj.w(), b.out_proj.bias)
        assert isinstance(b, AttentionBlock)
        w = x.shape[-1]
        h = b.qkv.a(F.layer_norm(x, (w,), b.ln1_weight, b.ln1_bias))
        qkv = F.linear(h, b.qkv.w(), b.qkv.bias).view(1, 3, b.heads, 1, b.head_dim)
        q, k, v = qkv.unbind(1)  # each (1, heads, 1, head_dim)
        count = st[f"{p}.count"]
        slots = torch.arange(st[f"{p}.k"].shape[2], dtype=count.dtype)  # (cap,)
        here = (slots == count).reshape(1, 1, -1, 1)
        keys = torch.where(here, k, st[f"{p}.k"])  # (1, heads, cap, head_dim)
        values = torch.where(here, v, st[f"{p}.v"])
        keep(f"{p}.k", keys)
        keep(f"{p}.v", values)
        new[f"{p}.count"] = count + live.float()
        seen = (slots <= count).reshape(1, 1, 1, -1)
        att = F.scaled_dot_product_attention(q, keys, values, attn_mask=seen)
        x = x + F.linear(b.o.a(att.reshape(1, b.heads * b.head_dim)), b.o.w(), b.o.bias)
        return b.ffn(x)


def export_onnx_step(net: ExportedNet, path: Path, capacity: int) -> StepGraph:
    """Write the step graph of causal ``net`` to ``path`` (inputs ``frame`` and the state
    names of :meth:`StepGraph.state_spec`, outputs ``logits`` and ``next.<name>``)."""
    from nasx.export.graph_formats import _lstm_while_loop, _tracing

    graph = StepGraph(net, capacity).eval()
    names = [n for n, _ in graph.spec]
    frame = torch.zeros(1, net.spec.in_channels)
    # the same LSTM decomposition as the other exports: exporting an LSTM once without it
    # leaves torch's dispatch caching the plain op, and a later pt2 export then fixes its length
    with _tracing(net, qdq=False), _lstm_while_loop(), torch.no_grad():
        program = torch.onnx.export(graph, (frame, *graph.init_state()),
                                    input_names=["frame", *names],
                                    output_names=["logits", *(f"next.{n}" for n in names)],
                                    dynamo=True, verbose=False)
        assert program is not None
        program.save(str(path))
    return graph


@torch.no_grad()
def check_onnx_step(net: ExportedNet, path: Path, x: Tensor, lengths: Tensor,
                    samples: int = 8) -> tuple[Tensor, Tensor]:
    """Run the step graph at ``path`` in onnxruntime over the first ``samples`` sequences of
    ``x (N, C, L)`` frame by frame; returns ``(step logits, whole-sequence logits of each
    prefix)``, both ``(frames, K)``."""
    import numpy as np

    from nasx.export.graph_formats import onnx_session

    session = onnx_session(path)
    names = [i.name for i in session.get_inputs()][1:]
    shapes = [tuple(i.shape) for i in session.get_inputs()][1:]
    got, want = [], []
    for i in range(min(samples, len(x))):
        state = [np.zeros(s, dtype=np.float32) for s in shapes]
        for t in range(int(lengths[i])):
            frame = x[i:i + 1, :, t].numpy().astype(np.float32)
            out = session.run(None, {"frame": frame, **dict(zip(names, state, strict=True))})
            state = out[1:]
            got.append(torch.from_numpy(out[0]))
            want.append(net(x[i:i + 1, :, :t + 1], None))
    k = net.spec.num_classes
    return (torch.cat(got) if got else torch.zeros(0, k),
            torch.cat(want) if want else torch.zeros(0, k))
