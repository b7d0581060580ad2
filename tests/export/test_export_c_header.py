"""model.h: a hand-built net gives a known header (golden arrays and layer table), compiles
with a C compiler, and the round-trip check catches a changed value."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from nasx.export.c_header import c_header
from nasx.export.net import ExportSpec, build_exported
from nasx.export.verify import check_c_header

ARCH = {"stem": {"width": 2, "kernel": 1, "stride": 1, "wbits": 8, "abits": 8},
        "stages": [{"depth": 1, "width": 2, "stride": 1, "wbits": 4, "abits": 32,
                    "blocks": [{"op": "conv", "kernel": 1, "expand": 0.5, "wbits": 32,
                                "abits": 32}]}]}


def _net():
    spec = ExportSpec(arch=ARCH, in_channels=1, num_classes=2, causal=False, head_dim=0,
                      entry_kernels=(1,), space="golden")
    f = torch.tensor
    tensors = {
        "stem.weight_i8": f([[[127]], [[-64]]], dtype=torch.int8),
        "stem.weight_scale": f([0.5, 0.25]), "stem.bias": f([0.0, 1.0]),
        "stem.act_amax": f(63.5),  # 8-bit input scale 63.5 / 127 = 0.5
        "stages.0.entry.weight_i4x2": f([0xE1, 0x97], dtype=torch.uint8),  # codes 1,-2,7,-7
        "stages.0.entry.weight_scale": f([1.0, 0.5]), "stages.0.entry.bias": f([0.0, -0.25]),
        "stages.0.blocks.0.pw1.weight": f([[[0.5], [-1.5]]]),
        "stages.0.blocks.0.pw1.bias": f([0.25]),
        "stages.0.blocks.0.dw.weight": f([[[2.0]]]), "stages.0.blocks.0.dw.bias": f([0.0]),
        "stages.0.blocks.0.pw2.weight": f([[[1.0]], [[-1.0]]]),
        "stages.0.blocks.0.pw2.bias": f([0.0, 0.125]),
        "classifier.weight": f([[1.0, 0.0], [0.0, 1.0]]), "classifier.bias": f([0.5, -0.5]),
    }
    return build_exported(spec, tensors, "golden")


def test_hand_built_net_computes_the_hand_computed_logits() -> None:
    # stem: q(1.0) = 1.0; [127*0.5, -64*0.25 + 1] = [63.5, -15] -> relu [63.5, 0]
    # entry: codes*scale [[1, -2], [3.5, -3.5]] -> [63.5, 222.25 - 0.25] = [63.5, 222]
    # block: pw1 0.5*63.5 - 1.5*222 + 0.25 < 0 -> 0; dw 0; pw2 [0, 0.125]; residual added
    # head: [63.5 + 0.5, 222.125 - 0.5]
    logits = _net()(torch.ones(1, 1, 1))
    assert logits.tolist() == [[64.0, 221.625]]


def test_golden_header(tmp_path: Path) -> None:
    net = _net()
    p = f"nasx_{net.spec.id}"
    text = c_header(net)
    arrays = f"""static const int8_t {p}_stem_weight_i8[2] = {{
  127, -64
}};
static const float {p}_stem_weight_scale[2] = {{
  0.5f, 0.25f
}};
static const float {p}_stem_bias[2] = {{
  0.0f, 1.0f
}};
static const uint8_t {p}_stages_0_entry_weight_i4x2[2] = {{
  225, 151
}};
static const float {p}_stages_0_entry_weight_scale[2] = {{
  1.0f, 0.5f
}};
static const float {p}_stages_0_entry_bias[2] = {{
  0.0f, -0.25f
}};
static const float {p}_stages_0_blocks_0_pw1_weight[2] = {{
  0.5f, -1.5f
}};"""
    assert arrays in text
    q = f"{p}_stages_0_blocks_0"
    table = f"""static const nasx_layer_t {p}_layers[7] = {{
  {{"stem", NASX_CONV, NASX_RELU, 8, 8, 2, 1, 1, 1, 1, 0.5f, {p}_stem_weight_i8, \
{p}_stem_weight_scale, {p}_stem_bias, {{NULL, NULL, NULL, NULL}}}},
  {{"stages.0.entry", NASX_CONV, NASX_RELU, 4, 32, 2, 2, 1, 1, 1, 0.0f, \
{p}_stages_0_entry_weight_i4x2, {p}_stages_0_entry_weight_scale, {p}_stages_0_entry_bias, \
{{NULL, NULL, NULL, NULL}}}},
  {{"stages.0.blocks.0.pw1", NASX_CONV, NASX_RELU, 32, 32, 1, 2, 1, 1, 1, 0.0f, \
{q}_pw1_weight, NULL, {q}_pw1_bias, {{NULL, NULL, NULL, NULL}}}},
  {{"stages.0.blocks.0.dw", NASX_CONV, NASX_RELU, 32, 32, 1, 1, 1, 1, 1, 0.0f, \
{q}_dw_weight, NULL, {q}_dw_bias, {{NULL, NULL, NULL, NULL}}}},
  {{"stages.0.blocks.0.pw2", NASX_CONV, NASX_RESIDUAL, 32, 32, 2, 1, 1, 1, 1, 0.0f, \
{q}_pw2_weight, NULL, {q}_pw2_bias, {{NULL, NULL, NULL, NULL}}}},
  {{"pool", NASX_MEAN_POOL, 0, 32, 32, 2, 2, 1, 1, 1, 0.0f, NULL, NULL, NULL, \
{{NULL, NULL, NULL, NULL}}}},
  {{"classifier", NASX_LINEAR, 0, 32, 32, 2, 2, 1, 1, 1, 0.0f, {p}_classifier_weight, NULL, \
{p}_classifier_bias, {{NULL, NULL, NULL, NULL}}}}
}};"""
    assert table in text
    assert f"#define {p.upper()}_NUM_LAYERS 7" in text
    assert f"#define {p.upper()}_IN_CHANNELS 1" in text
    assert check_c_header(text, net).passed
    tampered = text.replace("  127, -64\n", "  127, -63\n")
    assert not check_c_header(tampered, net).passed
    tampered = text.replace(", 0.5f, " + p + "_stem_weight_i8", ", 0.25f, " + p + "_stem_weight_i8")
    assert not check_c_header(tampered, net).passed


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler on this machine")
def test_header_compiles_and_holds_the_values(tmp_path: Path) -> None:
    net = _net()
    p = f"nasx_{net.spec.id}"
    (tmp_path / "model.h").write_text(c_header(net))
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\n#include "model.h"\n'
        "int main(void) {\n"
        f"  const nasx_layer_t *l = &{p}_layers[1];\n"
        "  const uint8_t *w = (const uint8_t *)l->weight;\n"
        '  printf("%s %d %d %u %u %g\\n", l->name, l->wbits, (int)sizeof(' + p + "_layers) / "
        '(int)sizeof(nasx_layer_t), w[0], w[1], (double)l->scale[1]);\n'
        "  return 0;\n}\n")
    exe = tmp_path / "main"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-o",
                    str(exe), str(tmp_path / "main.c")], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    assert out == "stages.0.entry 4 7 225 151 0.5\n"
