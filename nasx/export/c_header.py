"""``model.h``: an exported subnet as a self-contained C header for MCU-class runtimes.

The header holds every tensor of ``model.safetensors`` as a ``static const`` array (int8
codes, 4-bit codes packed two per byte as ``uint8_t``, int16 codes, float32 scales, biases and
float parameters) and a layer table in execution order, ``<p>_layers[]`` of
``nasx_layer_t``: kind, flags (ReLU / GELU / residual add / causal), bit-widths, sizes, the
input activation scale and pointers to the arrays. Symbols are prefixed ``nasx_<archid>_`` so
several models can live in one program. Layer kinds:

- ``NASX_CONV``: conv1d, weight ``(out, in / groups, kernel)``, BatchNorm folded into scale
  and bias; stride, groups, 'same' or causal (flag) padding.
- ``NASX_LINEAR``: ``(out, in)``.
- ``NASX_LAYERNORM``: ``aux[0]`` gamma, ``aux[1]`` beta (``in`` values, eps 1e-5).
- ``NASX_LSTM_INPUT`` / ``NASX_LSTM_RECURRENT``: the input / recurrent weights of a recurrent
  block with their biases: LSTM ``W_ih (4H, W)`` / ``W_hh (4H, H)``, gate order i, f, g, o;
  GRU ``(3H, W)`` / ``(3H, H)``, gate order r, z, n (the recurrent row's ``out`` is ``3 x in``).
- ``NASX_SSM``: inner width ``in``, state size ``kernel``; ``aux[0] = exp(dt A)``,
  ``aux[1] = dt B`` (both ``(E, N)``), ``aux[2] = C (E, N)``, ``aux[3] = D (E,)``; per step
  ``h = aux0 * h + aux1 * u``, ``y = (sum_n aux2 h + aux3 u) * silu(z)``.
- ``NASX_ATTENTION``: scaled dot-product attention, ``out`` heads of ``kernel`` dims.
- ``NASX_MEAN_POOL``: mean over valid steps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import Tensor

from nasx import __version__
from nasx.export.blocks import ConvReLU
from nasx.export.layers import Layer
from nasx.export.net import ExportedNet
from nasx.export.quantized import FLOAT_BITS, code_storage, stored_codes
from nasx.ops import hooks_of
from nasx.search_spaces import describe_arch

NORMALIZATION_CODES = {"none": 0, "channel": 1, "series": 2}
_PER_LINE = 12

RUNTIME_DIR = Path(__file__).parent / "mcu" / "runtime"


def types_block() -> str:
    """The layer-table type definitions (``runtime/nasx_types.h``, the runtime's own copy)."""
    return (RUNTIME_DIR / "nasx_types.h").read_text(encoding="utf-8").split("\n", 1)[1]


def _cstring(text: str) -> str:
    """A C string literal of ``text`` (non-ASCII and control characters as octal escapes)."""
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif 32 <= byte < 127:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def cfloat(v: float) -> str:
    """A C float literal that reads back as the same float32 (9 significant digits)."""
    text = f"{v:.9g}"
    if not any(c in text for c in ".en"):
        text += ".0"
    return text + "f"


class _Writer:
    """Collects arrays and layer rows of one header."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.arrays, self.rows = prefix, [], []
        self.names: list[str] = []

    def array(self, name: str, t: Tensor) -> str:
        ident = f"{self.prefix}_{re.sub(r'[^0-9A-Za-z]', '_', name)}"
        ctype = {torch.int8: "int8_t", torch.int16: "int16_t", torch.uint8: "uint8_t",
                 torch.float32: "float"}[t.dtype]
        values = t.reshape(-1).tolist()
        text = [cfloat(v) if ctype == "float" else str(v) for v in values]
        body = ",\n".join("  " + ", ".join(text[i:i + _PER_LINE])
                          for i in range(0, len(text), _PER_LINE))
        self.arrays.append(f"static const {ctype} {ident}[{max(len(values), 1)}] = {{\n"
                           f"{body if values else '  0'}\n}};")
        return ident

    def row(self, name: str, kind: str, flags: Iterable[str], *, wbits: int = FLOAT_BITS,
            abits: int = FLOAT_BITS, out: int = 0, inp: int = 0, kernel: int = 1,
            stride: int = 1, groups: int = 1, act_scale: float = 0.0, weight: str = "NULL",
            scale: str = "NULL", bias: str = "NULL", aux: tuple[str, ...] = ()) -> None:
        flag = " | ".join(flags) or "0"
        aux_s = ", ".join((*aux, *["NULL"] * (4 - len(aux))))
        self.names.append(name)
        self.rows.append(
            f'  {{"{name}", {kind}, {flag}, {wbits}, {abits}, {out}, {inp}, {kernel}, {stride}, '
            f"{groups}, {cfloat(act_scale)}, {weight}, {scale}, {bias}, {{{aux_s}}}}}")

    def layer(self, name: str, layer: Layer, kind: str, flags: Iterable[str], *,
              stride: int = 1, groups: int = 1) -> None:
        w = layer.weight
        shape = tuple(w.shape)
        if w.bits >= FLOAT_BITS:
            weight, scale = self.array(f"{name}.weight", w.value), "NULL"
        else:
            weight = self.array(f"{name}.weight_{code_storage(w.bits)}",
                                stored_codes(w.codes, w.bits))
            scale = self.array(f"{name}.weight_scale", w.scale)
        bias = self.array(f"{name}.bias", layer.bias) if layer.bias is not None else "NULL"
        a = layer.act
        self.row(name, kind, flags, wbits=w.bits, abits=a.bits, out=shape[0],
                 inp=shape[1] * groups, kernel=shape[2] if len(shape) == 3 else 1, stride=stride,
                 groups=groups, act_scale=a.scale_value, weight=weight, scale=scale, bias=bias)

    def norm(self, name: str, weight: Tensor, bias: Tensor) -> None:
        aux = (self.array(f"{name}.weight", weight), self.array(f"{name}.bias", bias))
        self.row(name, "NASX_LAYERNORM", (), out=weight.numel(), inp=weight.numel(), aux=aux)


def _conv(wr: _Writer, name: str, unit: ConvReLU, causal: bool) -> None:
    wr.layer(name, unit.conv, "NASX_CONV", ["NASX_RELU", *(["NASX_CAUSAL"] if causal else [])],
             stride=unit.stride)


def _block(wr: _Writer, p: str, b: object) -> None:
    """The block's rows, written by its op (:mod:`nasx.ops`)."""
    hooks_of(b).c_rows(wr, p, b)


@torch.no_grad()
def c_header(net: ExportedNet, max_length: int = 0, streaming: bool = False) -> str:
    """The text of ``model.h`` for ``net`` (see the module docstring); with ``max_length``
    it also declares the runtime's ``nasx_<id>_run`` for sequences up to that length, and
    with ``streaming`` its ``reset`` / ``step``."""
    return header_and_rows(net, max_length, streaming)[0]


def header_and_rows(net: ExportedNet, max_length: int = 0,
                    streaming: bool = False) -> tuple[str, list[str]]:
    """``model.h`` and the names of its layer-table rows in order."""
    spec = net.spec
    prefix = f"nasx_{spec.id}"
    wr = _Writer(prefix)
    _conv(wr, "stem", net.stem, spec.causal)
    for i, stage in enumerate(net.stages):
        _conv(wr, f"stages.{i}.entry", stage.entry, spec.causal)
        for j, b in enumerate(stage.blocks):
            _block(wr, f"stages.{i}.blocks.{j}", b)
    pre = spec.input
    norm_arrays = (wr.array("input.mean", net.input_norm.mean.reshape(-1)),
                   wr.array("input.std", net.input_norm.std.reshape(-1)))
    width = net.classifier.weight.shape[1]
    wr.row("pool", "NASX_MEAN_POOL", (), out=width, inp=width)
    wr.layer("classifier", net.classifier, "NASX_LINEAR", ())
    guard = f"NASX_MODEL_{spec.id.upper()}_H"
    up = prefix.upper()
    lines = [
        f"/* nasx {__version__} export of subnet {spec.id} ({spec.space or 'unknown space'}):",
        f" * {describe_arch(spec.arch)}",
        " * Input x (C, L) -> logits (K). Generated file: do not edit. */",
        f"#ifndef {guard}", f"#define {guard}",
        types_block(),
        f"#define {up}_IN_CHANNELS {spec.in_channels}",
        f"#define {up}_NUM_CLASSES {spec.num_classes}",
        f"#define {up}_CAUSAL {int(spec.causal)}",
        f"#define {up}_NUM_LAYERS {len(wr.rows)}",
        "/* Input preprocessing, applied by the runtime to the raw input: 0 none, 1 per channel",
        " * (x - input_mean[c]) / input_std[c], 2 per series and channel (z-score over the valid",
        " * steps, std floored at 1e-6). Padded steps stay 0. */",
        f"#define {up}_NORMALIZATION {NORMALIZATION_CODES[pre.normalization]}",
        f"#define {up}_INPUT_MEAN {norm_arrays[0]}",
        f"#define {up}_INPUT_STD {norm_arrays[1]}",
        "", *wr.arrays, "",
        "/* Class names in logit order. */",
        f"static const char *const {prefix}_classes[{max(len(pre.classes), 1)}] = {{"
        + ", ".join(_cstring(c) for c in pre.classes or ("",)) + "};",
        f"static const nasx_layer_t {prefix}_layers[{len(wr.rows)}] = {{",
        ",\n".join(wr.rows), "};",
        "/* The table (a use of every array: the header compiles alone with -Werror). */",
        f"static inline const nasx_layer_t *{prefix}_layer_table(void) {{",
        f"  (void){prefix}_classes;", f"  (void){norm_arrays[0]};", f"  (void){norm_arrays[1]};",
        f"  return {prefix}_layers;", "}",
        *_api(prefix, max_length, streaming),
        f"#endif /* {guard} */", ""]
    return "\n".join(lines), wr.names


def _api(prefix: str, max_length: int, streaming: bool) -> list[str]:
    """Declarations of the runtime's entry points (model.c defines them)."""
    if not max_length:
        return []
    up = prefix.upper()
    step = [f"#define {up}_STREAMING 1",
            "/* Streaming (causal subnets): reset() before a sequence, then step() once per raw",
            " * frame (C); logits after each frame equal the whole-sequence logits of the frames",
            f" * so far. Returns 0, or -1 past {up}_MAX_LENGTH frames of an attention cache. */",
            f"void {prefix}_reset(void);",
            f"int {prefix}_step(const float *frame, float *logits);"] if streaming else []
    return [*step, f"#define {up}_MAX_LENGTH {max_length}",
            "/* Logits (K) of one raw sequence x (length, C), time-major: x[t * C + c];",
            f" * returns 0, or -1 for a length outside 1..{up}_MAX_LENGTH.",
            " * Not reentrant (one static arena). */",
            f"int {prefix}_run(const float *x, int length, float *logits);"]


def parse_c_arrays(text: str) -> dict[str, list[float]]:
    """Every ``static const <type> name[n] = {...};`` array of a header, by name (numbers as
    Python ints/floats): used to check that a written header holds the exported values."""
    out: dict[str, list[float]] = {}
    for m in re.finditer(r"static const (\w+) (\w+)\[(\d+)\] = \{([^}]*)\};", text):
        ctype, name, body = m.group(1), m.group(2), m.group(4)
        items = [s.strip() for s in body.split(",") if s.strip()]
        if ctype == "float":
            out[name] = [float(s.removesuffix("f")) for s in items]
        elif ctype != "nasx_layer_t":
            out[name] = [int(s) for s in items]
    return out


def parse_c_act_scales(text: str) -> dict[str, float]:
    """``name -> act_scale`` of every row of a header's layer table (as float32 values)."""
    row = re.compile(r'\{"([^"]+)", \w+, [^,]+, \d+, \d+, \d+, \d+, \d+, \d+, \d+, ([^,]+),')
    return {m.group(1): float(torch.tensor(float(m.group(2).removesuffix("f"))))
            for m in row.finditer(text)}
