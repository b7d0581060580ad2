"""Frame-by-frame inference of a causal exported subnet: ``step(frame, state) -> (logits,
state)``.

This is how an MCU keyword spotter runs a network: one input frame at a time, with persistent
state instead of the whole sequence in memory:

- conv layers keep a ring buffer of their last ``k - 1`` input frames (zeros at the start, as
  causal padding); a stride-``s`` layer emits an output on every ``s``-th input frame, and the
  layers after it run only then;
- each block keeps what its op's ``stream_state`` says (:mod:`nasx.ops`): LSTM blocks ``h`` and
  ``c``; SSM blocks their state ``(E, N)``, advanced by the recurrent form
  ``h = exp(dt A) h + dt B u``; attention blocks a key/value cache of every past frame;
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

from nasx.export.blocks import ConvReLU
from nasx.export.net import ExportedNet
from nasx.ops import hooks_of, op_of

State = dict[str, Tensor]


class NotStreamableError(ValueError):
    """The subnet has a layer that needs future frames."""


def streaming_blocker(net: ExportedNet) -> str | None:
    """``None`` when ``net`` is causal, else ``"<layer> is not causal"`` for its first
    non-causal layer."""
    if net.spec.input.normalization == "series":
        return "the input's per-series normalisation (it needs the whole sequence)"
    convs = [("stem (conv)", net.stem, [])]
    convs += [(f"stages[{i}].entry (conv)", stage.entry, stage.blocks)
              for i, stage in enumerate(net.stages)]
    for n, (name, unit, blocks) in enumerate(convs):
        if not unit.causal and unit.conv.weight.shape[-1] > 1:
            return f"{name} is not causal ('same' padding, kernel {unit.conv.weight.shape[-1]})"
        for j, b in enumerate(blocks):
            op = op_of(b)
            why = op.load("hooks").blocker(b)
            if why is not None:
                return f"stages[{n - 1}].blocks[{j}] ({op.name}) {why}"
    return None


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
                st.update(hooks_of(b).stream_state(b, f"stages.{i}.blocks.{j}", batch, zeros))
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
    """One frame ``(B, W)`` through a residual block -> ``(B, W)`` (its op's step)."""
    return hooks_of(b).stream_step(b, prefix, x, st)
