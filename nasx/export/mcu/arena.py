"""The emitter's state while it writes ``model.c``: the layer rows, the C lines, and the
buffers of the one static arena (each a region sized by its largest use)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nasx.export.layers import QDQ_MAX_BITS, Layer
from nasx.export.quantized import FLOAT_BITS

FLOAT_BYTES = 4


@dataclass
class Emitter:
    """Collects the body of ``nasx_<id>_run`` and the arena's buffer sizes (in floats).

    Attributes:
        prefix: symbol prefix ``nasx_<id>``.
        rows: layer name -> index in ``<prefix>_layers``.
        lines: C statements of the body, in order.
        sizes: buffer name -> floats it must hold.
    """

    prefix: str
    rows: dict[str, int]
    lines: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)

    def layer(self, name: str) -> str:
        """C expression of the layer-table row ``name``."""
        return f"&{self.prefix}_layers[{self.rows[name]}]"

    def buf(self, name: str, floats: int) -> str:
        """Reserve ``floats`` in buffer ``name`` (the largest reservation wins); its C name."""
        self.sizes[name] = max(self.sizes.get(name, 0), int(floats))
        return name

    def emit(self, line: str) -> None:
        """Append one C statement."""
        self.lines.append(f"  {line}")

    def conv(self, layer: Layer, name: str, x: str, length: int, cin: int, y: str, *,
             residual: bool = False, update_n: bool = False, stride: int = 1) -> int:
        """``nasx_conv1d`` of ``layer`` (row ``name``) from ``x (n, cin)`` into ``y``
        (``residual``: add ``y`` in place); reserves its buffers and the scratch its input
        quantizer needs; returns the output's longest length."""
        cout = int(layer.weight.shape[0])
        lout = -(-length // stride)
        self.buf(x, length * cin)
        self.buf(y, lout * cout)
        wbits, abits = layer.weight.bits, layer.act.bits
        if wbits <= QDQ_MAX_BITS and abits <= QDQ_MAX_BITS:  # int8 x int8 -> int32 path
            self.buf("qscratch", -(-length * cin // FLOAT_BYTES))
        elif abits < FLOAT_BITS:
            self.buf("fscratch", length * cin)
        call = (f"nasx_conv1d({self.layer(name)}, {x}, n, {y}, {y if residual else 'NULL'}, "
                "s)")
        self.emit(f"n = {call};" if update_n else f"(void){call};")
        return lout

    def arena(self) -> tuple[list[str], int]:
        """Pointer declarations into the arena (one per used buffer, then the kernels' scratch
        ``s``) and the arena's size in floats."""
        decls, offset = [], 0
        for name, floats in self.sizes.items():
            if name == "qscratch":
                decls.append(f"  int8_t *const {name} = (int8_t *)({self.prefix}_arena + "
                             f"{offset});")
            else:
                decls.append(f"  float *const {name} = {self.prefix}_arena + {offset};")
            offset += max(floats, 1)
        q = "qscratch" if "qscratch" in self.sizes else "NULL"
        f = "fscratch" if "fscratch" in self.sizes else "NULL"
        decls.append("  nasx_scratch_t s;")
        decls.append(f"  s.q = {q};")
        decls.append(f"  s.f = {f};")
        return decls, offset
