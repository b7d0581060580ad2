"""The C runtime cross-compiled for a Cortex-M7 and run on QEMU mps2-an500: its logits against
the host build's, flash/SRAM from the ELF, instruction counts that grow with the work."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from export_helpers import exported, op_arch, padded_batch, tiny_space, warmed

from nasx.export.mcu.build import build_and_run_host, write_c_export
from nasx.export.mcu.cortex_m7 import missing_tools, run_m7
from nasx.export.verify import has_act_quant

REASON = missing_tools()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"Cortex-M7 checks: {REASON}")


@pytest.mark.parametrize(("causal", "op", "second", "wbits", "abits"),
                         [(False, "conv", "ssm", 32, 32), (False, "lstm", "attn", 4, 8),
                          (True, "attn", "conv", 8, 8)])
def test_m7_logits_equal_the_host_build_and_sizes_are_read(tmp_path: Path, causal: bool,
                                                         op: str, second: str, wbits: int,
                                                         abits: int) -> None:
    space = tiny_space(causal=causal)
    arch = op_arch(space, op, wbits=wbits, abits=abits, second=second, stride=2)
    net = exported(warmed(space, [arch]), arch)
    x, lengths = padded_batch(seed=4, batch=10, length=19)
    with torch.no_grad():
        ref = net(x, lengths)
    write_c_export(tmp_path, net, 19, x, lengths, ref, not has_act_quant(arch))
    host = build_and_run_host(tmp_path, ref.shape[1])
    m7 = run_m7(tmp_path, ref.shape[1])
    assert m7.returncode == host.returncode == 0
    assert torch.equal(m7.logits.argmax(1), host.logits.argmax(1))
    assert float((m7.logits - host.logits).abs().max()) <= 1e-4
    # the arena (bss) alone is at least the model's activations; flash holds every weight
    arena = int((tmp_path / "model.c").read_text().split("_arena[")[1].split("]")[0]) * 4
    assert m7.sram_bytes >= arena + m7.stack_bytes and 0 < m7.stack_bytes < 65536
    weights = sum(t.numel() * t.element_size() for t in net.tensors().values())
    assert m7.flash_bytes > weights
    # instructions grow with the sequence length: the full-length sample costs the most
    assert len(m7.instructions) == 10 and m7.instructions[0] == max(m7.instructions)
    assert m7.instructions[0] > 3 * m7.instructions[-1] > 0  # lengths 19 vs 1
    assert m7.command.startswith("arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb")


def test_m7_builds_an_export_folder_given_relative_to_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    space = tiny_space()
    arch = op_arch(space, "conv", second="ssm")
    net = exported(warmed(space, [arch]), arch)
    x, lengths = padded_batch(seed=4, batch=2, length=9)
    with torch.no_grad():
        ref = net(x, lengths)
    folder = tmp_path / "exports" / "m"
    folder.mkdir(parents=True)
    write_c_export(folder, net, 9, x, lengths, ref, True)
    monkeypatch.chdir(tmp_path)  # as `nasx export --run runs/jv` passes runs/jv/exports/...
    m7 = run_m7(Path("exports/m"), ref.shape[1])
    assert m7.returncode == 0 and (folder / "model.elf").is_file()
