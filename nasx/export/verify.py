"""Checks of each written format against the supernet subnet.

Rules (``check_logits``):

- a subnet without activation quantizers, in a float format (torch, pt2, onnx, streaming):
  max |logit difference| <= 1e-5 (``FLOAT_TOL``);
- a subnet with activation quantizers, or the QDQ ONNX graph: the argmax agrees on at least
  99% (``MIN_AGREEMENT``) of the samples; the max difference is reported. Folding BatchNorm
  changes float rounding by about 1e-7 relative, which very rarely moves a value across a
  quantization step; QDQ runtimes also round on their own.
- ``c``: the arrays parsed back from the header equal the exported tensors exactly;
- ``c-host``: the C runtime built on this machine against the exported torch module on the
  golden inputs: max |diff| <= 1e-4 (``C_FLOAT_TOL``) without activation quantizers, else
  argmax agreement >= 99% or at most one sample off (int8 arithmetic and fixed-point
  requantisation may move a value across a rounding step; with the ~50 validation samples of a
  small data set one flip is 2%; ``tools/bench_deploy.py`` measures agreement over many).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from nasx.export.c_header import parse_c_act_scales, parse_c_arrays
from nasx.export.layers import Layer
from nasx.export.net import ExportedNet
from nasx.export.quantized import FLOAT_BITS
from nasx.export.streaming import StreamingNet
from nasx.ops import hooks_of

FLOAT_TOL = 1e-5
C_FLOAT_TOL = 1e-4  # the C runtime against the exported torch module (its own float order)
MIN_AGREEMENT = 0.99


@dataclass(frozen=True)
class FormatCheck:
    """The result of one format against the supernet on ``n`` samples."""

    format: str
    max_abs_diff: float
    argmax_agreement: float
    n: int
    rule: str
    passed: bool

    def as_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"max_abs_diff": self.max_abs_diff, "argmax_agreement": self.argmax_agreement,
                "n": self.n, "rule": self.rule, "passed": self.passed}

    def line(self) -> str:
        """A one-line summary for the terminal."""
        verdict = "ok" if self.passed else "MISMATCH"
        if self.format == "c":
            return f"{self.format:<10} {self.n} arrays and the input scales read back exactly  " \
                f"{verdict}"
        return (f"{self.format:<10} max|diff| {self.max_abs_diff:.2e}  argmax agreement "
                f"{100 * self.argmax_agreement:6.2f}%  ({self.rule})  {verdict}")


def has_act_quant(arch: dict[str, Any]) -> bool:
    """True when any layer of ``arch`` quantizes its input activations."""
    units = [arch["stem"], *arch["stages"], *(b for s in arch["stages"] for b in s["blocks"])]
    return any(u["abits"] < FLOAT_BITS for u in units)


def check_logits(fmt: str, ref: Tensor, out: Tensor, *, exact: bool,
                 tol: float | None = None, slack: int = 0) -> FormatCheck:
    """Compare ``out`` with the reference logits ``ref (N, K)`` under the rule ``exact``
    (max diff <= ``tol``, default ``FLOAT_TOL``) or not (argmax agreement >= 99%, or at most
    ``slack`` samples off)."""
    diff = float((out.float() - ref.float()).abs().max()) if ref.numel() else 0.0
    agree = float((out.argmax(dim=1) == ref.argmax(dim=1)).float().mean()) if len(ref) else 1.0
    if exact:
        tol = FLOAT_TOL if tol is None else tol
        rule, ok = f"max|diff| <= {tol:g}", diff <= tol
    else:
        rule, ok = f"argmax agreement >= {100 * MIN_AGREEMENT:g}%", agree >= MIN_AGREEMENT
        if slack:
            off = round((1.0 - agree) * len(ref))
            rule += f" or at most {slack} sample{'s' * (slack > 1)} off"
            ok = ok or off <= slack
    return FormatCheck(fmt, diff, agree, len(ref), rule, bool(ok and diff == diff))


@torch.no_grad()
def streaming_logits(net: ExportedNet, x: Tensor, lengths: Tensor) -> Tensor:
    """Logits after streaming each sequence of ``x (N, C, L)`` to its end (grouped by length).

    Returns:
        ``(N, K)``: the last step's logits of every sequence.
    """
    stream = StreamingNet(net)
    out = torch.empty(x.shape[0], net.spec.num_classes)
    for length in lengths.unique().tolist():
        rows = (lengths == length).nonzero().squeeze(1)
        out[rows] = stream.run(x[rows, :, :length])[:, :, -1]
    return out


def _c_expected(net: ExportedNet) -> dict[str, Tensor]:
    """The arrays ``model.h`` must hold: the file tensors, with each SSM's ``A_log``, ``log_dt``
    and ``B`` replaced by the deployed ``decay = exp(dt A)`` and ``dtB = dt B``."""
    out = {k: v for k, v in net.tensors().items()
           if not k.endswith((".A_log", ".log_dt", ".B", ".act_amax"))}
    out["input.mean"] = net.input_norm.mean.reshape(-1)  # (C,)
    out["input.std"] = net.input_norm.std.reshape(-1)
    for i, stage in enumerate(net.stages):
        for j, b in enumerate(stage.blocks):
            out.update(hooks_of(b).c_arrays(b, f"stages.{i}.blocks.{j}"))
    return out


def check_c_header(text: str, net: ExportedNet) -> FormatCheck:
    """Every exported tensor must appear in the header with exactly its values."""
    arrays = parse_c_arrays(text)
    prefix = f"nasx_{net.spec.id}_"
    worst, missing = 0.0, []
    expected = _c_expected(net)
    for name, t in expected.items():
        got = arrays.get(prefix + re.sub(r"[^0-9A-Za-z]", "_", name))
        want = t.detach().reshape(-1)
        if got is None or len(got) != want.numel():
            missing.append(name)
            continue
        back = torch.tensor(got, dtype=torch.float64).to(want.dtype)
        worst = max(worst, float((back.double() - want.double()).abs().max()) if len(got) else 0.0)
    scales = parse_c_act_scales(text)
    for name, m in net.named_modules():
        if isinstance(m, Layer) and m.act.bits < FLOAT_BITS:
            layer = name.removesuffix(".conv")  # ConvReLU holds its layer as .conv
            if scales.get(layer) != m.act.scale_value:
                missing.append(f"{layer} act_scale")
    ok = not missing and worst == 0.0
    return FormatCheck("c", worst if not missing else float("inf"), 1.0 if ok else 0.0,
                       len(expected), "header arrays equal the exported tensors", ok)
