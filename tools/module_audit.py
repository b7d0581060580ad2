"""Independent counts on an extracted module, to check the analytic cost model against.

Used by ``tools/bench_cost.py`` (a sibling import, as every tool's) and by the tests that check
the cost model (``tests/predictors/cost/test_cost_vs_module.py``, ``tests/ops/op_helpers.py``;
pytest puts ``tools/`` on ``sys.path``, see ``pyproject.toml``). It lives here, not in the
package: it is checking tooling, never imported by nasx.

Nothing here imports the cost model: :func:`module_weight_bytes` reads the parameters of a
:class:`~nasx.supernet.static_net.StaticNet`, and :func:`trace_module` runs the module and
watches what it really executes (a ``TorchFunctionMode`` sees every ``conv1d``, ``linear``,
``layer_norm``, ``lstm``, ``gru`` and ``scaled_dot_product_attention`` call with its real
tensors; the SSM scan is wrapped where the block calls it; module hooks on the units give each
unit's bits and the residual it keeps). The deployment rules it applies to what it sees (BN
folded, adds fused, element sizes, scratch and state words) are the ones stated in
:mod:`nasx.predictors.cost.schedule`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from nasx.ops import OPS, mamba_blocks
from nasx.ops.mamba_blocks import StaticMamba
from nasx.supernet import ssm_block
from nasx.supernet.conv_bn import StaticConvBN
from nasx.supernet.quant import ActQuant
from nasx.supernet.ssm_block import StaticSSM
from nasx.supernet.static_net import StaticNet

_RESIDUAL = tuple(op.load("static") for op in OPS.values())
_UNITS = (StaticConvBN, *_RESIDUAL)


def _packed(t: Tensor, bits: int) -> int:
    return (t.numel() * bits + 7) // 8


def _units(net: StaticNet) -> Iterator[nn.Module]:
    yield net.stem
    for stage in net.stages:
        yield stage.entry
        yield from stage.blocks


def module_weight_bytes(net: StaticNet) -> int:
    """Deployed weight bytes of ``net`` counted from its parameters (BN folded into the conv).

    Per unit at its ``wbits``/``abits``: every Conv1d/Linear/LSTM/GRU weight tensor packed; a
    BatchNorm leaves one 4-byte bias per channel; a Linear keeps its bias (4 bytes each); an
    LSTM keeps ``b_ih + b_hh`` as one bias, a GRU both; quantized weights add a 4-byte scale per
    row; each ActQuant of a quantized-activation unit adds one 4-byte scale; LayerNorm parameters
    and the SSM's ``exp(dt A)``, ``dt B``, ``C``, ``D`` are fp32; the classifier is fp32.
    """
    total = 0
    for unit in _units(net):
        wb, ab = unit.wbits, unit.abits
        rows = 0
        for m in unit.modules():
            if isinstance(m, nn.Conv1d):
                total += _packed(m.weight, wb)
                rows += m.weight.shape[0]
            elif isinstance(m, nn.BatchNorm1d):
                total += 4 * m.num_features
            elif isinstance(m, nn.Linear):
                total += _packed(m.weight, wb) + 4 * m.bias.numel()
                rows += m.weight.shape[0]
            elif isinstance(m, nn.LSTM | nn.GRU):
                total += _packed(m.weight_ih_l0, wb) + _packed(m.weight_hh_l0, wb)
                # an LSTM sums b_ih + b_hh; a GRU keeps both (n = tanh(x_n + r * (h_n + b_hn)))
                total += 4 * m.bias_ih_l0.numel() * (2 if isinstance(m, nn.GRU) else 1)
                rows += m.weight_ih_l0.shape[0] + m.weight_hh_l0.shape[0]
            elif isinstance(m, nn.LayerNorm):
                total += 4 * (m.weight.numel() + m.bias.numel())
            elif isinstance(m, ActQuant) and ab < 32:
                total += 4
        if wb < 32:
            total += 4 * rows
        if isinstance(unit, StaticSSM):
            total += 4 * (unit.A_log.numel() + unit.B.numel() + unit.C.numel() + unit.D.numel())
        if isinstance(unit, StaticMamba):  # the selective part: fp32 parameters, not layers
            total += 4 * sum(p.numel() for p in vars(unit.mix_params()).values())
    c = net.classifier
    return total + 4 * (c.weight.numel() + c.bias.numel())


@dataclass
class ModuleTrace:
    """What :func:`trace_module` saw: one entry per executed step, plus persistent state."""

    live: list[int] = field(default_factory=list)  # live bytes of each step
    names: list[str] = field(default_factory=list)
    state_bytes: int = 0
    macs: int = 0

    @property
    def peak_sram_bytes(self) -> int:
        """Persistent state + the largest live set of any step."""
        return self.state_bytes + max(self.live)


class _Tracer(TorchFunctionMode):
    """Records deployment steps from the torch functions a StaticNet really calls."""

    def __init__(self, streaming: bool, contexts: list[int]) -> None:
        super().__init__()
        self.streaming, self.contexts = streaming, contexts
        self.trace = ModuleTrace()
        self.keys_seen: list[int] = []  # key length of each attention call, in order
        self.stream_elem = self.unit_elem = self.in_elem = 4
        self.first, self.pinned, self.inside, self.last_out = False, 0, False, 0
        self.padded: dict[int, int] = {}  # id of an F.pad result -> numel of its input
        self.in_head = False

    # -- unit hooks -------------------------------------------------------------------------
    def unit_start(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        x = args[0]
        self.in_elem, self.unit_elem = self.stream_elem, (module.abits + 7) // 8
        self.first = True
        self.pinned = x.numel() * self.in_elem if isinstance(module, _RESIDUAL) else 0

    def unit_end(self, module: nn.Module, args: tuple[Any, ...], out: Any) -> None:
        self.stream_elem = self.unit_elem
        x = out[0] if isinstance(out, tuple) else out
        self.last_out = x.numel() * self.unit_elem

    def head_start(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        """The mean pool ran just before the classifier: record it, then run the head in fp32."""
        pooled = args[0].numel() * 4
        if self.streaming:  # the frame is added into a persistent fp32 sum
            self._record("pool", self.last_out, 0, 0)
            self.trace.state_bytes += pooled
        else:
            self._record("pool", self.last_out, pooled, 0)
        self.in_elem = self.unit_elem = 4
        self.first, self.pinned, self.in_head = False, 0, True

    # -- steps ------------------------------------------------------------------------------
    def _record(self, name: str, in_b: int, out_b: int, scratch: int, pin: bool = False) -> None:
        self.trace.names.append(name)
        self.trace.live.append(in_b + out_b + scratch + (self.pinned if pin else 0))

    def _step(self, name: str, in_numel: int, out_numel: int, scratch: int = 0) -> None:
        in_b = in_numel * (self.in_elem if self.first else self.unit_elem)
        self._record(name, in_b, out_numel * self.unit_elem, scratch, pin=not self.first)
        self.first = False

    def ssm_scan(self, original: Any, u: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor,
                 D: Tensor, z: Tensor) -> Tensor:
        """Wrapper around the block's ``ssm_scan``: one ``scan`` step, internals not traced."""
        self.inside = True
        try:
            y = original(u, dt, A, B, C, D, z)
        finally:
            self.inside = False
        e, n = A.shape
        state = 4 * e * n
        self.trace.macs += (3 * n + 2) * y.numel()
        self._step("scan", u.numel() + z.numel(), y.numel(), 0 if self.streaming else state)
        self.trace.state_bytes += state if self.streaming else 0
        return y

    def mamba_mix(self, original: Any, u: Tensor, z: Tensor, p: Any) -> Tensor:
        """Wrapper around the block's ``mamba_mix``: one fp32 ``mix`` step walking the sequence
        (scratch: the convolved column, ``dt``, ``dt|B|C`` and, whole-sequence, the state)."""
        self.inside = True
        try:
            y = original(u, z, p)
        finally:
            self.inside = False
        (e, n), r, k = p.A_log.shape, p.dt_w.shape[1], p.conv_w.shape[1]
        per_column = e * k + e * (r + 2 * n) + r * e + e * (4 * n + 3)
        self.trace.macs += per_column * u.shape[0] * u.shape[2]
        state = 4 * e * n
        scratch = 4 * (2 * e + r + 2 * n) + (0 if self.streaming else state)
        self._step("mix", u.numel() + z.numel(), y.numel(), scratch)
        if self.streaming:  # the state and the convolution's last k - 1 signal columns
            self.trace.state_bytes += state + (k - 1) * e * self.unit_elem
        return y

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.inside:
            return out
        if func is F.pad:
            self.padded[id(out)] = args[0].numel()
        elif func in (F.conv1d, torch.conv1d):
            x, w = args[0], args[1]
            numel = self.padded.pop(id(x), x.numel())
            if self.streaming and w.shape[-1] > 1:  # ring buffer of k - 1 input frames
                elem = self.in_elem if self.first else self.unit_elem
                self.trace.state_bytes += (w.shape[-1] - 1) * x.shape[1] * elem
            self.trace.macs += out.numel() * w.shape[1] * w.shape[2]
            self._step("conv1d", numel, out.numel())
        elif func is F.linear:
            self.trace.macs += out.numel() * args[1].shape[1]
            # streaming: the classifier reads the persistent sum (already counted as state)
            reads = 0 if self.in_head and self.streaming else args[0].numel()
            self._step("linear", reads, out.numel())
        elif func is F.layer_norm:
            in_b = args[0].numel() * (self.in_elem if self.first else self.unit_elem)
            self._record("layer_norm", in_b, out.numel() * self.unit_elem, 0)
            self.pinned, self.first = in_b, False  # the residual the next add reads
        elif func is torch.lstm:
            hidden = args[1][0].shape[-1]
            y = out[0]
            self.trace.macs += y.numel() * 4 * (args[0].shape[-1] + hidden)
            scratch = 4 * 4 * hidden if self.streaming else 4 * 5 * hidden
            self.trace.state_bytes += 4 * 2 * hidden if self.streaming else 0
            self._step(func.__name__, args[0].numel(), y.numel(), scratch)
        elif func is torch.gru:
            hidden = args[1].shape[-1]
            y = out[0]
            self.trace.macs += y.numel() * 3 * (args[0].shape[-1] + hidden)
            self.trace.state_bytes += 4 * hidden if self.streaming else 0
            self._step(func.__name__, args[0].numel(), y.numel(), 4 * 6 * hidden)
        elif func is F.scaled_dot_product_attention:
            q, k, v = args[:3]
            b, heads, lq, d = q.shape
            self.keys_seen.append(k.shape[2])
            lk = self.contexts[len(self.keys_seen) - 1] if self.streaming else k.shape[2]
            self.trace.macs += 2 * b * heads * lq * lk * d
            if self.streaming:  # key/value cache of the whole stage length
                self.trace.state_bytes += 2 * heads * d * lk * self.unit_elem
            self._step("sdpa", q.numel() + k.numel() + v.numel(), out.numel(), 4 * heads * lq * lk)
        return out


def _run(net: StaticNet, length: int, streaming: bool, contexts: list[int]) -> _Tracer:
    tracer = _Tracer(streaming, contexts)
    handles = [net.register_forward_pre_hook(
        lambda m, a: setattr(tracer, "stream_elem", (m.stem.abits + 7) // 8))]
    for unit in _units(net):
        assert isinstance(unit, _UNITS)
        handles.append(unit.register_forward_pre_hook(tracer.unit_start))
        handles.append(unit.register_forward_hook(tracer.unit_end))
    handles.append(net.classifier.register_forward_pre_hook(tracer.head_start))
    original, original_mix = ssm_block.ssm_scan, mamba_blocks.mamba_mix
    x = torch.randn(1, net.stem.conv.in_channels, length)
    try:
        with torch.no_grad(), mock.patch.object(
            ssm_block, "ssm_scan", lambda *a: tracer.ssm_scan(original, *a)
        ), mock.patch.object(
            mamba_blocks, "mamba_mix", lambda *a: tracer.mamba_mix(original_mix, *a)
        ), tracer:
            net(x, torch.tensor([length]))
    finally:
        for h in handles:
            h.remove()
    return tracer


def trace_module(net: StaticNet, length: int, mode: str = "whole-sequence") -> ModuleTrace:
    """Run ``net`` (eval) on one sequence of ``length`` steps and trace its deployment steps.

    ``streaming``: a first run at full length finds each attention block's key length (the
    stage length: the key/value cache it needs), then a one-frame run gives the per-frame
    tensors. Returns the steps' live bytes, the persistent state and the MACs seen.
    """
    was_training = net.training
    net.eval()
    try:
        if mode == "whole-sequence":
            return _run(net, length, False, []).trace
        contexts = _run(net, length, False, []).keys_seen
        return _run(net, 1, True, contexts).trace
    finally:
        net.train(was_training)
