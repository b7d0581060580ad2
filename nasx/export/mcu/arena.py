"""The emitter's state while it writes ``model.c``: the layer rows, the C lines, and the
buffers of the one static arena (one per tensor, placed by :mod:`.planner`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nasx.export.layers import QDQ_MAX_BITS, Layer
from nasx.export.mcu.planner import Buffer, lifetimes, plan
from nasx.export.quantized import FLOAT_BITS


def int_path(layer: Layer) -> bool:
    """Whether the runtime computes ``layer`` as int8 x int8 -> int32."""
    return layer.weight.bits <= QDQ_MAX_BITS and layer.act.bits <= QDQ_MAX_BITS


def requant_params(layer: Layer, nxt: Layer) -> tuple[list[int], list[int], list[int]]:
    """Fixed-point requantisation of ``layer``'s int32 sums into ``nxt``'s input grid, per
    output channel ``o``: the real multiplier ``M = s_in * s_w[o] / s_next`` as
    ``mult / 2^(31 + shift)`` with ``mult`` in ``[2^30, 2^31)``, and the bias on the same
    scale, ``round(b[o] / s_next * 2^(31 + shift))`` (int64; rounding it to whole accumulator
    units instead moved an output code by one step now and then). Returns
    ``(mult, shift, bias)``."""
    import math

    s_in, s_next = float(layer.act.scale_value), float(nxt.act.scale_value)
    mult, shift, bias = [], [], []
    b = layer.bias.tolist() if layer.bias is not None else [0.0] * layer.weight.shape[0]
    for s_w, b_o in zip(layer.weight.scale.tolist(), b, strict=True):
        acc_scale = s_in * s_w
        m = acc_scale / s_next
        f, e = math.frexp(m)  # m = f * 2^e, f in [0.5, 1)
        q = round(f * (1 << 31))
        if q == 1 << 31:
            q, e = q // 2, e + 1
        if m == 0.0 or 31 - e > 62:  # the output is always 0
            q, e = 0, 0
        mult.append(q)
        shift.append(-e)
        scaled = math.ldexp(b_o / s_next, 31 - e) if q else 0.0
        bias.append(max(-(2**62), min(2**62, round(scaled))))
    return mult, shift, bias


def c_array(ctype: str, name: str, values: list[int], suffix: str = "") -> str:
    """``static const <ctype> name[n] = {...};`` (``suffix`` on each literal, e.g. ``LL``)."""
    body = ", ".join(f"{v}{suffix}" for v in values) or "0"
    return f"static const {ctype} {name}[{max(len(values), 1)}] = {{{body}}};"

FLOAT_BYTES = 4


@dataclass
class Emitter:
    """Collects the body of ``nasx_<id>_run`` and the arena's buffers.

    Every buffer is one tensor with its own C name (``<role>_<k>``, :meth:`new`), so its
    lifetime is the span of the statements that name it; :meth:`arena` plans the offsets
    (:mod:`.planner`). A layer's quantized-input scratch is a buffer of its own statement.

    Attributes:
        prefix: symbol prefix ``nasx_<id>``.
        rows: layer name -> index in ``<prefix>_layers``.
        lines: C statements of the body, in order (one op each).
        sizes: buffer C name -> 4-byte words it holds.
        int8: the buffers that hold int8 codes.
    """

    prefix: str
    rows: dict[str, int]
    lines: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    int8: set[str] = field(default_factory=set)
    statics: list[str] = field(default_factory=list)
    state: dict[str, int] = field(default_factory=dict)
    counters: list[str] = field(default_factory=list)

    def persistent(self, name: str, floats: int) -> str:
        """A buffer of the streaming state (kept between ``step`` calls); its C name."""
        self.state[name] = int(floats)
        return name

    def counter(self, name: str) -> str:
        """An ``int`` of the streaming state; its C expression."""
        self.counters.append(name)
        return f"{self.prefix}_counts[{len(self.counters) - 1}]"

    def new(self, role: str, floats: int) -> str:
        """A new arena buffer of ``floats`` floats; its C name ``<role>_<k>``."""
        name = f"{role}_{len(self.sizes)}"
        self.sizes[name] = max(int(floats), 1)
        return name

    def new_int8(self, role: str, count: int) -> str:
        """A new arena buffer of ``count`` int8 codes (whole 4-byte words); its C name."""
        name = self.new(role, -(-int(count) // FLOAT_BYTES))
        self.int8.add(name)
        return name

    def _scratch(self, layer: Layer, count: int) -> str:
        """``s.q = ..; s.f = ..;``: the scratch ``nasx_conv1d`` needs to quantize ``count``
        inputs of ``layer`` (int8 codes on the int path, fake-quantized floats below 32
        activation bits, none for a float layer)."""
        q = f = "NULL"
        if int_path(layer):
            q = self.new_int8("qs", count)
        elif layer.act.bits < FLOAT_BITS:
            f = self.new("fs", count)
        return f"s.q = {q}; s.f = {f}; "

    def window_conv(self, layer: Layer, name: str, window: str, cin: int, y: str, *,
                    residual: bool = False) -> None:
        """``nasx_conv1d_window`` of row ``name`` over ``window (kernel, cin)`` into ``y``."""
        k, cout = int(layer.weight.shape[-1]) if layer.weight.value.dim() == 3 else 1, \
            int(layer.weight.shape[0])
        f = self.new("fs", k * (cout + cin))
        q = self.new_int8("qs", k * cin) if int_path(layer) else "NULL"
        self.emit(f"s.q = {q}; s.f = {f}; nasx_conv1d_window({self.layer(name)}, {window}, "
                  f"{y}, {y if residual else 'NULL'}, s);")

    def layer(self, name: str) -> str:
        """C expression of the layer-table row ``name``."""
        return f"&{self.prefix}_layers[{self.rows[name]}]"

    def emit(self, line: str) -> None:
        """Append one C statement."""
        self.lines.append(f"  {line}")

    def conv(self, layer: Layer, name: str, x: str, length: int, cin: int, y: str, *,
             residual: bool = False, update_n: bool = False, stride: int = 1) -> int:
        """``nasx_conv1d`` of ``layer`` (row ``name``) from ``x (n, cin)`` into ``y``
        (``residual``: add ``y`` in place) with the scratch its input quantizer needs;
        returns the output's longest length."""
        lout = -(-length // stride)
        scratch = self._scratch(layer, length * cin)
        call = (f"nasx_conv1d({self.layer(name)}, {x}, n, {y}, {y if residual else 'NULL'}, "
                "s)")
        self.emit(scratch + (f"n = {call};" if update_n else f"(void){call};"))
        return lout

    def requant(self, layer: Layer, nxt: Layer, key: str) -> str:
        """A ``nasx_requant_t`` from ``layer``'s int32 sums into ``nxt``'s input grid (static
        arrays in ``model.c``); returns its C expression."""
        mult, shift, bias = requant_params(layer, nxt)
        name = f"{self.prefix}_rq_{key}"
        self.statics += [c_array("int32_t", f"{name}_mult", mult),
                         c_array("int8_t", f"{name}_shift", shift),
                         c_array("int64_t", f"{name}_bias", bias, "LL"),
                         f"static const nasx_requant_t {name} = {{{name}_mult, {name}_shift, "
                         f"{name}_bias, {nxt.act.qmax}}};"]
        return f"&{name}"

    def conv_int8(self, layer: Layer, name: str, xq: str, y: str, *, requant: str = "NULL",
                  residual: bool = False, update_n: bool = False) -> None:
        """``nasx_conv1d_int8`` of row ``name`` on int8 codes ``xq`` into ``y`` (int8 codes
        with ``requant``, else float)."""
        call = (f"nasx_conv1d_int8({self.layer(name)}, {xq}, n, {y}, {requant}, "
                f"{y if residual else 'NULL'})")
        self.emit(f"n = {call};" if update_n else f"(void){call};")

    def quantize(self, name: str, x: str, length: int, width: int) -> str:
        """Quantize float ``x (n, width)`` into row ``name``'s int8 input grid; the new
        buffer's C name."""
        q = self.new_int8("qs", length * width)
        self.emit(f"nasx_quantize({self.layer(name)}, {x}, (size_t)n * {width}, {q});")
        return q

    def buffers(self) -> list[Buffer]:
        """The arena buffers with their lifetimes over :attr:`lines`."""
        return lifetimes(self.lines, self.sizes)

    def arena(self) -> tuple[list[str], int]:
        """Pointer declarations into the arena (one per buffer, at its planned offset, then
        the kernels' scratch ``s``) and the arena's size in floats."""
        buffers = self.buffers()
        offsets, total = plan(buffers)
        decls = []
        for b in buffers:
            at = f"{self.prefix}_arena + {offsets[b.name]}"
            if b.name in self.int8:
                decls.append(f"  int8_t *const {b.name} = (int8_t *)({at});")
            else:
                decls.append(f"  float *const {b.name} = {at};")
        decls += ["  nasx_scratch_t s;", "  s.q = NULL;", "  s.f = NULL;"]
        return decls, total
