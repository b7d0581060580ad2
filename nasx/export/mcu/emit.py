"""``model.c``: an exported subnet as calls into the C runtime, over one static arena sized
here for sequences of up to ``max_length`` steps.

Buffers are time-major, ``(n, channels)``, one per tensor (``<role>_<k>``): ``x0`` the
normalised input, ``act_<k>`` a stage's main activation (new at each stage entry: strided
convs change the length ``n``), which its blocks update in place; ``t1``.. a block's inner
tensors, ``hc``/``h`` the LSTM/SSM state, ``scores`` one attention row, ``qs``/``fs`` a layer's
quantized input (scratch). Offsets come from the liveness planner (:mod:`.planner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasx import __version__
from nasx.export.c_header import RUNTIME_DIR, header_and_rows
from nasx.export.mcu.arena import FLOAT_BYTES, Emitter, int_path
from nasx.export.mcu.planner import peak_words
from nasx.export.mcu.stream_emit import step_functions, step_source
from nasx.export.net import ExportedNet
from nasx.export.streaming import streaming_blocker
from nasx.ops import op_of


@dataclass(frozen=True)
class ModelSource:
    """The generated C of one subnet.

    Attributes:
        header: ``model.h`` (weights, layer table, API declarations).
        source: ``model.c`` (``nasx_<id>_run`` and its arena).
        arena_bytes: size of the static arena (the larger of ``run``'s and ``step``'s plans).
        max_length: the longest sequence the arena holds.
        run_peak_bytes: the most bytes of ``run``'s buffers live at once (the plan's lower
            bound; the cost model's MCU SRAM counts it).
        run_arena_bytes: the bytes ``run``'s plan takes.
    """

    header: str
    source: str
    arena_bytes: int
    max_length: int
    run_peak_bytes: int = 0
    run_arena_bytes: int = 0


def runtime_files() -> list[Path]:
    """The runtime's sources (``*.h``, ``*.c``) shipped with nasx."""
    return sorted(p for p in RUNTIME_DIR.iterdir() if p.suffix in (".c", ".h"))


def _body(net: ExportedNet, em: Emitter, max_length: int) -> None:
    spec = net.spec
    up = em.prefix.upper()
    channels = spec.in_channels
    x0 = em.new("x0", max_length * channels)
    em.emit(f"nasx_normalize({up}_NORMALIZATION, {up}_INPUT_MEAN, {up}_INPUT_STD, x, n, "
            f"{channels}, {x0});")
    stem, first = net.stem.conv, net.stages[0].entry.conv
    width = int(stem.weight.shape[0])
    length = -(-max_length // net.stem.stride)
    if int_path(stem):  # int8 codes in; int8 out when the first stage's conv is int too
        q = em.quantize("stem", x0, max_length, channels)
        if int_path(first):
            cur = em.new_int8("qa", length * width)
            em.conv_int8(stem, "stem", q, cur, update_n=True,
                         requant=em.requant(stem, first, "stem"))
        else:
            cur = em.new("act", length * width)
            em.conv_int8(stem, "stem", q, cur, update_n=True)
    else:
        cur = em.new("act", length * width)
        em.conv(stem, "stem", x0, max_length, channels, cur, update_n=True,
                stride=net.stem.stride)
    for i, stage in enumerate(net.stages):
        out = int(stage.entry.conv.weight.shape[0])
        lout = -(-length // stage.entry.stride)
        nxt = em.new("act", lout * out)
        if cur in em.int8:
            em.conv_int8(stage.entry.conv, f"stages.{i}.entry", cur, nxt, update_n=True)
        else:
            em.conv(stage.entry.conv, f"stages.{i}.entry", cur, length, width, nxt,
                    update_n=True, stride=stage.entry.stride)
        cur, width, length = nxt, out, lout
        for j, block in enumerate(stage.blocks):
            op_of(block).load("c_emit")(em, f"stages.{i}.blocks.{j}", block, cur, length,
                                        width)
    pool = em.new("pool", width)
    em.emit(f"nasx_mean_pool({cur}, n, {width}, {pool});")
    em.emit(f"s.q = NULL; s.f = NULL; (void)nasx_conv1d({em.layer('classifier')}, {pool}, 1, "
            "logits, NULL, s);")


def model_source(net: ExportedNet, max_length: int) -> ModelSource:
    """``model.h`` and ``model.c`` of ``net`` for sequences up to ``max_length`` steps."""
    if max_length < 1:
        raise ValueError("max_length must be >= 1")
    streams = streaming_blocker(net) is None
    header, names = header_and_rows(net, max_length, streaming=streams)
    prefix = f"nasx_{net.spec.id}"
    rows = {name: i for i, name in enumerate(names)}
    em = Emitter(prefix, rows)
    _body(net, em, max_length)
    decls, floats = em.arena()
    run_floats, run_peak = floats, peak_words(em.buffers())
    step_statics: list[str] = []
    step_body: list[str] = []
    if streams:
        step = Emitter(prefix, rows)
        step_functions(net, step, max_length)
        step_statics, step_body, floats = step_source(step, floats)
    up = prefix.upper()
    lines = [
        f"/* nasx {__version__}: subnet {net.spec.id} on the nasx C runtime. Generated file. */",
        '#include "model.h"', '#include "runtime/nasx_rt.h"', "",
        f"/* One static arena: {floats * FLOAT_BYTES} bytes for sequences of up to "
        f"{max_length} steps. */",
        f"static float {prefix}_arena[{floats}];", *em.statics, *step_statics, "",
        f"int {prefix}_run(const float *x, int length, float *logits) {{",
        *decls,
        "  int n = length;",
        f"  if (length < 1 || length > {up}_MAX_LENGTH) return -1;",
        *em.lines,
        "  return 0;", "}", "", *step_body]
    return ModelSource(header, "\n".join(lines), floats * FLOAT_BYTES, max_length,
                       run_peak * FLOAT_BYTES, run_floats * FLOAT_BYTES)


def describe(src: ModelSource) -> dict[str, Any]:
    """The facts ``metrics.json`` records about the generated C."""
    return {"arena_bytes": src.arena_bytes, "max_length": src.max_length,
            "run_peak_bytes": src.run_peak_bytes}
