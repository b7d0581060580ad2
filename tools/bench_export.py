"""Exported subnets: CPU latency against a hand-written torch model, and verification figures.

For each subnet of a trained run (default: the run's largest, smallest and fixed random
subnets from ``archs.json``):

1. ``nasx export`` (all formats, ``--overwrite``) and its verification figures from
   ``metrics.json``: max |logit difference| of torch / pt2 / onnx against the supernet subnet,
   argmax agreement, onnxruntime latency beside the predicted host-cpu latency;
2. the exported module (``nasx.load_exported``) against a hand-written equivalent made of
   plain ``nn.Conv1d`` / ``nn.LSTM`` / ``nn.LayerNorm`` / ``nn.Linear`` layers holding the same
   weights (BatchNorm folded, weights dequantized, activation fake quantization written out):
   both on full-length batches (no masks), 1 thread, median of interleaved repeats.

    .venv/bin/python tools/bench_export.py --run runs/jv-export [--pick ID ...] [--rounds 41]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasx import load_exported
from nasx.export.blocks import AttentionBlock, ConvReLU, LSTMBlock, MBConvBlock, SSMBlock
from nasx.export.exporter import export_subnet
from nasx.export.layers import Layer
from nasx.export.net import ExportedNet


class FakeQuant(nn.Module):
    """``clamp(round(x / s), -qmax, qmax) * s`` (identity for float inputs)."""

    def __init__(self, layer: Layer) -> None:
        super().__init__()
        self.on = layer.act.bits < 32
        self.scale = float(layer.act.scale) if self.on else 1.0
        self.qmax = float(layer.act.qmax) if self.on else 0.0

    def forward(self, x: Tensor) -> Tensor:
        if not self.on:
            return x
        return torch.clamp(torch.round(x / self.scale), -self.qmax, self.qmax) * self.scale


def _conv(layer: Layer, stride: int = 1, groups: int = 1) -> nn.Conv1d:
    w = layer.w()
    conv = nn.Conv1d(w.shape[1] * groups, w.shape[0], w.shape[2], stride=stride,
                     padding=w.shape[2] // 2, groups=groups)
    conv.weight.data.copy_(w)
    conv.bias.data.copy_(layer.bias)
    return conv


def _linear(layer: Layer) -> nn.Linear:
    w = layer.w()
    lin = nn.Linear(w.shape[1], w.shape[0])
    lin.weight.data.copy_(w)
    lin.bias.data.copy_(layer.bias)
    return lin


def _norm(weight: Tensor, bias: Tensor) -> nn.LayerNorm:
    ln = nn.LayerNorm(weight.numel())
    ln.weight.data.copy_(weight)
    ln.bias.data.copy_(bias)
    return ln


class HandConvReLU(nn.Module):
    def __init__(self, m: ConvReLU) -> None:
        super().__init__()
        self.q, self.conv = FakeQuant(m.conv), _conv(m.conv, m.stride)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.conv(self.q(x)))


class HandMBConv(nn.Module):
    def __init__(self, m: MBConvBlock) -> None:
        super().__init__()
        self.q1, self.pw1 = FakeQuant(m.pw1), _conv(m.pw1)
        self.q2, self.dw = FakeQuant(m.dw), _conv(m.dw, groups=m.dw.weight.shape[0])
        self.q3, self.pw2 = FakeQuant(m.pw2), _conv(m.pw2)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.dw(self.q2(F.relu(self.pw1(self.q1(x))))))
        return x + self.pw2(self.q3(h))


class HandLSTM(nn.Module):
    def __init__(self, m: LSTMBlock) -> None:
        super().__init__()
        self.ln = _norm(m.ln_weight, m.ln_bias)
        self.q1, self.q2 = FakeQuant(m.ih), FakeQuant(m.proj)
        self.lstm = nn.LSTM(m.ih.weight.shape[1], m.hidden, batch_first=True)
        for name, t in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
                           m.lstm_params(), strict=True):
            getattr(self.lstm, name).data.copy_(t)
        self.proj = _linear(m.proj)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.lstm(self.q1(self.ln(x.transpose(1, 2))))
        return x + self.proj(self.q2(out)).transpose(1, 2)


class HandSSM(nn.Module):
    """S4D-style block written out: impulse response, causal depthwise conv, gate."""

    def __init__(self, m: SSMBlock) -> None:
        super().__init__()
        self.ln, self.q1, self.q2 = _norm(m.ln_weight, m.ln_bias), FakeQuant(m.in_proj), \
            FakeQuant(m.out_proj)
        self.in_proj, self.out_proj = _linear(m.in_proj), _linear(m.out_proj)
        self.register_buffer("dtA", m.dt.unsqueeze(-1) * m.A)  # (E, N)
        self.register_buffer("cbdt", (m.C * m.B * m.dt.unsqueeze(-1)).unsqueeze(1))  # (E, 1, N)
        self.register_buffer("D", m.D.unsqueeze(-1))

    def forward(self, x: Tensor) -> Tensor:
        length = x.shape[-1]
        u, z = self.in_proj(self.q1(self.ln(x.transpose(1, 2)))).transpose(1, 2).chunk(2, 1)
        steps = torch.arange(length, dtype=x.dtype)
        k = torch.bmm(self.cbdt, torch.exp(self.dtA.unsqueeze(-1) * steps))  # (E, 1, L)
        y = F.conv1d(F.pad(u, (length - 1, 0)), k.flip(-1), groups=u.shape[1])
        y = (y + self.D * u) * F.silu(z)
        return x + self.out_proj(self.q2(y.transpose(1, 2))).transpose(1, 2)


class HandAttention(nn.Module):
    def __init__(self, m: AttentionBlock) -> None:
        super().__init__()
        self.ln1, self.ln2 = _norm(m.ln1_weight, m.ln1_bias), _norm(m.ln2_weight, m.ln2_bias)
        self.qkv, self.o, self.fc1, self.fc2 = (_linear(m.qkv), _linear(m.o), _linear(m.fc1),
                                                _linear(m.fc2))
        self.qs = nn.ModuleList(FakeQuant(lay) for lay in (m.qkv, m.o, m.fc1, m.fc2))
        self.heads, self.head_dim = m.heads, m.head_dim

    def forward(self, x: Tensor) -> Tensor:
        xt = x.transpose(1, 2)
        b, length, _ = xt.shape
        q, k, v = self.qkv(self.qs[0](self.ln1(xt))).view(
            b, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, length, -1)
        xt = xt + self.o(self.qs[1](att))
        xt = xt + self.fc2(self.qs[3](F.gelu(self.fc1(self.qs[2](self.ln2(xt))))))
        return xt.transpose(1, 2)


HAND = {MBConvBlock: HandMBConv, LSTMBlock: HandLSTM, SSMBlock: HandSSM,
        AttentionBlock: HandAttention}


class HandNet(nn.Module):
    """The hand-written equivalent of a non-causal exported subnet (full-length input)."""

    def __init__(self, net: ExportedNet) -> None:
        super().__init__()
        layers: list[nn.Module] = [HandConvReLU(net.stem)]
        for stage in net.stages:
            layers.append(HandConvReLU(stage.entry))
            layers += [HAND[type(b)](b) for b in stage.blocks]
        self.norm = net.input_norm  # the run's input normalisation, as in the export
        self.body = nn.Sequential(*layers)
        self.classifier = _linear(net.classifier)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.body(self.norm(x, None)).mean(dim=-1))


def interleaved_ms(fns: dict[str, Callable[[], object]], rounds: int,
                   calls: int) -> dict[str, float]:
    """Median ms per call of each function, timed in alternating order round after round."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    names = list(fns)
    with torch.inference_mode():
        for name in names:  # warm-up
            for _ in range(calls):
                fns[name]()
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                t0 = time.perf_counter()
                for _ in range(calls):
                    fns[name]()
                times[name].append((time.perf_counter() - t0) / calls * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/jv-export"))
    parser.add_argument("--pick", action="append", help="arch ids (default: archs.json)")
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--no-export", action="store_true",
                        help="reuse the run's existing exports (skip nasx export)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    picks = args.pick or [v["id"] for v in
                          json.loads((args.run / "archs.json").read_text()).values()]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"torch {torch.__version__}, 1 thread")
    rows = []
    for pick in picks:
        if not args.no_export:
            export_subnet(args.run, pick, overwrite=True, say=lambda s: None)
        folder = args.run / "exports" / pick
        m = json.loads((folder / "metrics.json").read_text())
        net = load_exported(folder)
        hand = HandNet(net).eval()
        length = m["data"]["length"]
        for batch in (1, 32):
            x = torch.randn(batch, net.spec.in_channels, length,
                            generator=torch.Generator().manual_seed(batch))
            with torch.no_grad():
                diff = float((hand(x) - net(x)).abs().max())
            t = interleaved_ms({"exported": lambda net=net, x=x: net(x),
                                "hand": lambda hand=hand, x=x: hand(x),
                                "exported+lengths": lambda net=net, x=x: net(
                                    x, torch.full((x.shape[0],), x.shape[-1]))},
                               args.rounds, args.calls)
            rows.append((pick, m["describe"], batch, t, diff, m))
            print(f"{pick} b{batch:<3} exported {t['exported']:.3f} ms  hand {t['hand']:.3f} ms"
                  f"  ratio {t['exported'] / t['hand']:.3f}  (with lengths "
                  f"{t['exported+lengths']:.3f} ms)  max|hand-exported| {diff:.1e}")
    print("\n| subnet | batch | exported ms | hand-written ms | ratio | with lengths ms |")
    print("|---|---|---|---|---|---|")
    for pick, _, batch, t, _, _ in rows:
        print(f"| {pick} | {batch} | {t['exported']:.3f} | {t['hand']:.3f} | "
              f"{t['exported'] / t['hand']:.3f} | {t['exported+lengths']:.3f} |")
    ratios = [t["exported"] / t["hand"] for *_, t, _, _ in rows]
    print(f"\nmedian ratio {statistics.median(ratios):.3f}, max {max(ratios):.3f}")
    print("\n| subnet | arch | torch max diff | pt2 max diff | onnx max diff | onnx argmax | "
          "val acc | test acc | onnxruntime ms | predicted host-cpu ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for pick, desc, batch, _, _, m in rows:
        if batch != 1:
            continue
        v, lat = m["verification"], m["latency"]
        pred = lat["predicted"]["host-cpu"]
        print(f"| {pick} | {desc.replace('|', '/')} | {v['torch']['max_abs_diff']:.1e} | "
              f"{v['pt2']['max_abs_diff']:.1e} | {v['onnx']['max_abs_diff']:.1e} | "
              f"{100 * v['onnx']['argmax_agreement']:.1f}% | {m['accuracy']['val']:.4f} | "
              f"{m['accuracy']['test']:.4f} | {lat['measured_ms']['onnxruntime']:.3f} | "
              f"{pred['latency_ms']:.3f} ({pred['label']}) |")


if __name__ == "__main__":
    main()
