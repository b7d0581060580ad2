"""The streaming entry points of a causal subnet in ``model.c``: ``nasx_<id>_reset()`` and
``nasx_<id>_step(frame, logits)``, one raw input frame at a time, as
:class:`~nasx.export.streaming.StreamingNet` runs it.

State kept between frames lives in two static arrays, ``<p>_state`` (floats: conv windows of
the last ``kernel`` frames, LSTM ``h, c``, SSM states, attention key/value caches, the pool's
running sum) and ``<p>_counts`` (ints: frames seen per strided conv and per cache); the step's
temporaries share the run's arena (``run`` and ``step`` must not interleave mid-call).
After each frame ``logits`` equal the whole-sequence logits of the frames so far.
"""

from __future__ import annotations

from nasx.export.blocks import ConvReLU
from nasx.export.mcu.arena import Emitter
from nasx.export.net import ExportedNet
from nasx.ops import op_of


def _conv_unit(em: Emitter, name: str, unit: ConvReLU, x: str, cin: int, y: str) -> None:
    """Push frame ``x`` into the unit's window; on every stride-th frame compute ``y``, else
    skip to the head (the later layers only run when this one emits)."""
    k = int(unit.conv.weight.shape[-1])
    key = name.replace(".", "_")
    win = em.persistent(f"{key}_window", k * cin)
    em.emit(f"nasx_window_push({win}, {k}, {cin}, {x});")
    if unit.stride > 1:
        count = em.counter(f"{key}_frames")
        em.emit(f"if ({count}++ % {unit.stride} != 0) goto head;")
    em.window_conv(unit.conv, name, win, cin, y)


def step_functions(net: ExportedNet, em: Emitter, max_length: int) -> None:
    """Append the body of ``step`` to ``em`` (state and scratch reserved in it)."""
    spec, up = net.spec, em.prefix.upper()
    channels = spec.in_channels
    x0 = em.new("x0", channels)
    mode = 1 if spec.input.normalization == "channel" else 0
    em.emit(f"nasx_normalize({mode}, {up}_INPUT_MEAN, {up}_INPUT_STD, frame, 1, {channels}, "
            f"{x0});")
    width = int(net.stem.conv.weight.shape[0])
    cur = em.new("act", width)
    _conv_unit(em, "stem", net.stem, x0, channels, cur)
    frames = -(-max_length // net.stem.stride)
    for i, stage in enumerate(net.stages):
        out = int(stage.entry.conv.weight.shape[0])
        nxt = em.new("act", out)
        _conv_unit(em, f"stages.{i}.entry", stage.entry, cur, width, nxt)
        cur, width = nxt, out
        frames = -(-frames // stage.entry.stride)
        for j, block in enumerate(stage.blocks):
            op_of(block).load("c_emit_step")(em, f"stages.{i}.blocks.{j}", block, cur, width,
                                             frames)
    pool = em.persistent("pool_sum", width)
    count = em.counter("pool_frames")
    em.emit(f"for (i = 0; i < {width}; ++i) {pool}[i] += {cur}[i];")
    em.emit(f"{count} += 1;")
    if any("goto head;" in line for line in em.lines):
        em.lines.append("head:")
    mean = em.new("pool", width)
    em.emit(f"for (i = 0; i < {width}; ++i) {mean}[i] = {pool}[i] / "
            f"(float)({count} > 0 ? {count} : 1);")
    em.emit(f"s.q = NULL; s.f = NULL; (void)nasx_conv1d({em.layer('classifier')}, {mean}, 1, "
            "logits, NULL, s);")


def step_source(em: Emitter, run_floats: int) -> tuple[list[str], list[str], int]:
    """(static declarations, the reset and step functions, arena floats the step needs)."""
    p = em.prefix
    decls, floats = em.arena()
    state_decls, offset = [], 0
    for name, size in em.state.items():
        state_decls.append(f"  float *const {name} = {p}_state + {offset};")
        offset += max(size, 1)
    statics = [f"static float {p}_state[{max(offset, 1)}];",
               f"static int {p}_counts[{max(len(em.counters), 1)}];"]
    body = [
        f"void {p}_reset(void) {{",
        "  size_t i;",
        f"  for (i = 0; i < sizeof {p}_state / sizeof {p}_state[0]; ++i) {p}_state[i] = 0.0f;",
        f"  for (i = 0; i < sizeof {p}_counts / sizeof {p}_counts[0]; ++i) {p}_counts[i] = 0;",
        "}", "",
        f"int {p}_step(const float *frame, float *logits) {{",
        *decls, *state_decls, "  const int n = 1;", "  int i = 0;", "  (void)n;",
        "  (void)i;", *em.lines, "  return 0;", "}", ""]
    return statics, body, max(floats, run_floats)
