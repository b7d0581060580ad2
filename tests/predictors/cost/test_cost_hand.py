"""The analytic cost model against numbers computed by hand, one tiny arch per op type.

Shared parts (see hand_archs.py), int8 unless noted, L = 10:

- stem conv 2 -> 4, k3: MACs 4*2*3*10 = 240; params 24 + 8 (BN) = 32; flash: 24 weights
  + 4*4 bias + 4*4 scales + 4 act scale = 60; live: in 2*10 + out 4*10 = 60.
- entry conv 4 -> 8, k1: MACs 8*4*10 = 320; params 32 + 16 = 48; flash 32 + 32 + 32 + 4 = 100;
  live 40 + 80 = 120.
- head (input element e bytes): pool live 8*10*e + 4*8; classifier 8 -> 3 fp32: MACs 24,
  params 27, flash 4*27 = 108, live 32 + 12 = 44.
Shared totals: MACs 584, params 107, flash 268.
"""

from __future__ import annotations

import math

import pytest
from hand_archs import CHANNELS, CLASSES, LENGTH, hand_arch, hand_space

from nasx.predictors import CostModel, load_device
from nasx.predictors.cost.latency import step_latency_s
from nasx.predictors.cost.schedule import Step

# op -> (MACs, params, weight bytes, peak SRAM whole-sequence)
WHOLE = {
    # conv k3 e2 (H 16), w4a8. pw1 1280 + dw 480 + pw2 1280 MACs. Flash: pw1 128 w at 4 bits = 64
    # + 64 bias + 64 scales + 4 = 196; dw 48 w -> 24 + 64 + 64 + 4 = 156; pw2 64 + 32 + 32 + 4 =
    # 132. Params 160 + 80 + 144. Live: dw reads h (160) writes h (160) with x pinned (80) = 400.
    "conv": (584 + 3040, 107 + 384, 268 + 484, 400),
    # lstm H 4, w32a32 (block elements 4 bytes). lstm 4*4*(8+4)*10 = 1920 MACs, proj 320.
    # Flash: LN 2*8*4 = 64; lstm 128*4 + 64*4 + one 16-word bias 64 = 832 (no scales); proj
    # 32*4 + 8*4 = 160. Params 16 + (128 + 64 + 32) + 40. Live at lstm: in 8*10*4 = 320,
    # out 4*10*4 = 160, pinned x 80, scratch gates + c 4*5*4 = 80 -> 640.
    "lstm": (584 + 2240, 107 + 280, 268 + 1056, 640),
    # ssm E 8, N 4, w8a8. in_proj 16*8*10 = 1280, scan (3*4 + 2)*8*10 = 1120, out_proj 640.
    # Flash: LN 64; in_proj 128 + 64 + 64 + 4 = 260; SSM 4*(3*32 + 8) = 416; out_proj 132.
    # Params 16 + 144 + (3*32 + 16) + 72. Live at scan: in u,z 160 + out 80 + state 4*8*4 = 128
    # + pinned 80 = 448.
    "ssm": (584 + 3040, 107 + 344, 268 + 872, 448),
    # attn 2 heads of 4 (inner 8), FFN 8, w8a8. qkv 24*8*10 = 1920, sdpa 2*2*10*10*4 = 1600,
    # o, fc1, fc2 640 each. Flash: 2 LN 64 each; qkv 192 + 96 + 96 + 4 = 388; o, fc1, fc2 132
    # each. Params 16 + 216 + 72 + 16 + 72 + 72. Live at sdpa: qkv 240 + out 80 + scores
    # 4*2*10*10 = 800 + pinned 80 = 1200.
    "attn": (584 + 5440, 107 + 464, 268 + 912, 1200),
}

# op -> (peak SRAM, MACs) streaming one frame, KV context 10. Persistent: stem ring (3-1)*2 = 4,
# pooled fp32 sum 4*8 = 32.
STREAM = {
    # dw ring (3-1)*16 = 32; largest step dw: 16 + 16 + 8 = 40 -> 4 + 32 + 32 + 40.
    "conv": (108, 24 + 32 + 128 + 48 + 128 + 24),
    # h, c state 2*4*4 = 32; lstm step: in 8*4 + out 4*4 + pinned 8 + gates 4*4*4 = 120.
    "lstm": (4 + 32 + 32 + 120, 24 + 32 + 4 * 4 * 12 + 32 + 24),
    # SSM state 4*8*4 = 128; largest step in_proj: 8 + 16 + 8 = 32.
    "ssm": (4 + 128 + 32 + 32, 24 + 32 + 128 + 14 * 8 + 64 + 24),
    # KV cache 2*8*10 = 160; sdpa: 24 + 8 + scores 4*2*10 + 8 = 120.
    "attn": (4 + 160 + 32 + 120, 24 + 32 + 192 + 2 * 2 * 10 * 4 + 64 + 64 + 64 + 24),
}


@pytest.mark.parametrize("op", list(WHOLE))
def test_whole_sequence_costs_by_hand(op: str) -> None:
    model = CostModel(hand_space(op), CHANNELS, CLASSES, length=LENGTH)
    c = model.cost(hand_arch(op))
    assert (c.macs, c.params, c.weight_bytes, c.peak_sram_bytes) == WHOLE[op]
    assert c.flash_bytes == c.weight_bytes and c.sram_bytes == c.peak_sram_bytes  # no device


@pytest.mark.parametrize("op", list(STREAM))
def test_streaming_costs_by_hand(op: str) -> None:
    model = CostModel(hand_space(op), CHANNELS, CLASSES, length=LENGTH, mode="streaming")
    c = model.cost(hand_arch(op))
    assert (c.peak_sram_bytes, c.macs) == STREAM[op]
    assert (c.params, c.weight_bytes) == WHOLE[op][1:3]  # weights do not depend on the mode


def test_schedule_steps_of_the_conv_arch() -> None:
    steps = CostModel(hand_space("conv"), CHANNELS, CLASSES, length=LENGTH).schedule(
        hand_arch("conv"))
    assert [s.name for s in steps] == [
        "stem.conv", "stages[0].entry.conv", "stages[0].blocks[0].pw1",
        "stages[0].blocks[0].dw", "stages[0].blocks[0].pw2", "head.pool", "head.classifier"]
    assert [s.live_bytes for s in steps] == [60, 120, 240, 400, 320, 80 + 32, 44]
    assert [s.dtype for s in steps] == ["int8", "int8", "int4", "int4", "int4", "fp32", "fp32"]


def test_stride_shortens_the_sequence() -> None:
    # stem stride 2 on L = 10: 5 output steps, MACs 4*2*3*5 = 120; entry then sees 5 steps.
    space = hand_space("conv")
    arch = hand_arch("conv")
    space = type(space)(**{**space.__dict__,
                           "stem": type(space.stem)(width=(4,), kernel=(3,), stride=(1, 2))})
    arch["stem"]["stride"] = 2
    steps = CostModel(space, CHANNELS, CLASSES, length=LENGTH).schedule(arch)
    assert steps[0].macs == 120 and steps[0].out_bytes == 4 * 5
    assert steps[1].macs == 8 * 4 * 5 and steps[1].in_bytes == 4 * 5


def test_mcu_latency_of_the_conv_arch_by_hand() -> None:
    # STM32H743, 480 MHz, 4.2 us per op. MACs / (MACs per cycle): stem 240/0.5 + entry 320/0.5
    # (int8 conv) + pw1 1280/0.4 + dw 480/0.2 + pw2 1280/0.4 (int4) + pool 80 elements/0.5 +
    # classifier 24/0.2 (fp32 linear) = 10200 cycles; 7 steps.
    model = CostModel(hand_space("conv"), CHANNELS, CLASSES, length=LENGTH,
                      device=load_device("stm32h743"))
    c = model.cost(hand_arch("conv"))
    assert c.latency_s == pytest.approx(10200 / 480e6 + 7 * 4.2e-6, rel=1e-12)
    assert c.latency_label == "analytic"
    assert c.flash_bytes == 268 + 484 + 32768
    # SRAM as the C runtime's arena holds it (4-byte words; int8 buffers rounded up to words):
    # the int4 block's depthwise conv reads q1 (160 int8 = 40 words), writes q2 (40) with the
    # stage activation x (10 x 8 floats = 80) live: 160 words = 640 bytes
    assert c.peak_sram_bytes == 640 and c.sram_bytes == 640 + 4096
    assert c.supported  # int4 conv, int8 activations: all in the profile's bits


def test_roofline_estimate_takes_the_slower_bound() -> None:
    h100 = load_device("h100")
    compute_bound = Step("s", "linear", "fp32", 10**6, 10**6, 1000, 1000, flash_bytes=4000)
    # 1e6 MACs / (33.5e12 * 0.2) = 1.4925e-7 s > 6000 B / 3.35e12 B/s
    assert step_latency_s(compute_bound, h100) == pytest.approx(1e6 / (33.5e12 * 0.2) + 1.7e-4)
    memory_bound = Step("s", "pool", "fp32", 0, 10, 10**8, 0)
    assert step_latency_s(memory_bound, h100) == pytest.approx(1e8 / 3.35e12 + 1.7e-4)
    model = CostModel(hand_space("conv"), CHANNELS, CLASSES, length=LENGTH, device=h100)
    c = model.cost(hand_arch("conv"))
    assert c.latency_label == "roofline estimate" and not c.supported  # h100 runs no int4


def test_no_device_gives_nan_latency() -> None:
    c = CostModel(hand_space("ssm"), CHANNELS, CLASSES, length=LENGTH).cost(hand_arch("ssm"))
    assert math.isnan(c.latency_s) and c.latency_label == "no device"
