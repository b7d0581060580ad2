"""The C runtime's arena plan: buffer lifetimes, offsets that never overlap two live buffers,
an arena equal to the peak of live buffers, and the MCU cost model's SRAM equal to that peak
on random hybrid-mcu subnets; an int8 stem before a float stage computes as torch does."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from export_helpers import CHANNELS, CLASSES, exported, op_arch, padded_batch, tiny_space, warmed

from nasx.export.c_header import header_and_rows
from nasx.export.mcu import emit
from nasx.export.mcu.arena import Emitter
from nasx.export.mcu.build import build_and_run_host, write_c_export
from nasx.export.mcu.planner import Buffer, lifetimes, peak_words, plan
from nasx.predictors import CostModel, load_device
from nasx.search_spaces import canonical_arch, largest_arch, load_space, random_arch, smallest_arch


def _check(buffers: list[Buffer], offsets: dict[str, int], total: int) -> None:
    """No two buffers live at the same op share an address; all fit in ``total``."""
    for b in buffers:
        assert 0 <= offsets[b.name] and offsets[b.name] + b.words <= total
    for a, b in itertools.combinations(buffers, 2):
        if a.overlaps(b):
            assert (offsets[a.name] + a.words <= offsets[b.name]
                    or offsets[b.name] + b.words <= offsets[a.name]), (a, b)


def test_lifetimes_span_the_ops_that_name_a_buffer() -> None:
    ops = ["f(x_0, t1_1);", "g(t1_1, t2_2, t1_10);", "h(t2_2, y);", "k(t1_10);"]
    got = lifetimes(ops, {"x_0": 3, "t1_1": 5, "t2_2": 2, "t1_10": 0, "unused_9": 4})
    assert got == [Buffer("x_0", 3, 0, 0), Buffer("t1_1", 5, 0, 1), Buffer("t2_2", 2, 1, 2),
                   Buffer("t1_10", 1, 1, 3)]
    assert peak_words(got) == 8  # op 1: t1_1 + t2_2 + t1_10


def test_a_chain_ping_pongs_within_the_peak() -> None:
    # a stage activation live throughout, a chain t1 -> t2 -> t3 -> t4, one-op scratch
    bufs = [Buffer("act", 10, 0, 6), Buffer("t1", 8, 1, 2), Buffer("t2", 6, 2, 3),
            Buffer("s2", 3, 2, 2), Buffer("t3", 9, 3, 4), Buffer("t4", 5, 4, 5),
            Buffer("s5", 7, 5, 5)]
    offsets, total = plan(bufs)
    _check(bufs, offsets, total)
    assert total == peak_words(bufs) == 27  # op 2: 10 + 8 + 6 + 3
    assert offsets["t1"] == offsets["t3"] or offsets["t2"] == offsets["t4"]


def test_random_lifetimes_plan_without_overlap() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        bufs = []
        for i in range(int(rng.integers(1, 25))):
            first = int(rng.integers(0, 12))
            bufs.append(Buffer(f"b{i}", int(rng.integers(1, 50)), first,
                               first + int(rng.integers(0, 4))))
        offsets, total = plan(bufs)
        _check(bufs, offsets, total)
        assert total >= peak_words(bufs)


def test_cost_model_sram_is_the_runtime_arena_on_random_subnets() -> None:
    space = load_space("hybrid-mcu")
    rng = np.random.default_rng(5)
    archs = [largest_arch(space), smallest_arch(space),
             *(random_arch(space, rng) for _ in range(10))]
    net = warmed(space, archs, steps=1)
    device = load_device("stm32f746")
    for length in (29, 7):
        model = CostModel(space, CHANNELS, CLASSES, length=length, device=device)
        for arch in archs:
            e = exported(net, arch)
            src = emit.model_source(e, length)
            cost = model.cost(arch)
            assert src.run_peak_bytes == cost.peak_sram_bytes, e.spec.id
            assert src.run_arena_bytes == src.run_peak_bytes, e.spec.id
            assert cost.sram_bytes == cost.peak_sram_bytes + device.engine_sram_bytes
            _, names = header_and_rows(e, length, streaming=False)
            em = Emitter("p", {n: i for i, n in enumerate(names)})
            emit._body(e, em, length)
            offsets, total = plan(em.buffers())
            _check(em.buffers(), offsets, total)
    # without an MCU the schedule's byte counts stay (int8 activations take one byte)
    plain = CostModel(space, CHANNELS, CLASSES, length=29).cost(archs[1])
    assert plain.peak_sram_bytes != CostModel(space, CHANNELS, CLASSES, length=29,
                                              device=device).cost(archs[1]).peak_sram_bytes


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on PATH")
def test_int8_stem_before_a_float_stage_matches_torch(tmp_path: Path) -> None:
    space = tiny_space()
    arch = op_arch(space, "conv", wbits=32, abits=8, second="lstm")
    arch["stem"].update(wbits=8, abits=8)  # int path stem, fake-quant float first stage
    arch = canonical_arch(space, arch)
    net = exported(warmed(space, [arch]), arch)
    x, lengths = padded_batch(seed=4, batch=16, length=19)
    with torch.no_grad():
        ref = net(x, lengths)
    src = write_c_export(tmp_path, net, 19, x, lengths, ref, False)
    assert "nasx_conv1d_int8(&nasx_" in (tmp_path / "model.c").read_text()
    assert src.run_arena_bytes == src.run_peak_bytes
    ran = build_and_run_host(tmp_path, ref.shape[1])
    assert ran.returncode == 0
    assert float((ran.logits.argmax(1) == ref.argmax(1)).float().mean()) >= 0.99
    assert float((ran.logits - ref).abs().max()) <= 1e-3
