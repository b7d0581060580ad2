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

from nasx.export.blocks import ConvReLU
from nasx.export.net import ExportedNet
from nasx.export.streaming import StreamingNet
from nasx.ops import hooks_of


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
                self.spec += hooks_of(b).graph_state(b, f"stages.{i}.blocks.{j}", frames)
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

        return hooks_of(b).graph_step(b, p, x, st, new, keep, live)


def export_onnx_step(net: ExportedNet, path: Path, capacity: int) -> StepGraph:
    """Write the step graph of causal ``net`` to ``path`` (inputs ``frame`` and the state
    names of :meth:`StepGraph.state_spec`, outputs ``logits`` and ``next.<name>``)."""
    from nasx.export.graph_formats import _rnn_while_loop, _tracing

    graph = StepGraph(net, capacity).eval()
    names = [n for n, _ in graph.spec]
    frame = torch.zeros(1, net.spec.in_channels)
    # the same LSTM decomposition as the other exports: exporting an LSTM once without it
    # leaves torch's dispatch caching the plain op, and a later pt2 export then fixes its length
    with _tracing(net, qdq=False), _rnn_while_loop(), torch.no_grad():
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
