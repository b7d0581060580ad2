"""The C99 runtime built on this machine against the exported torch module: every block op,
'same' and causal, strided, float, weight-only and int8 activations, int8 and packed int4
weights; raw inputs through the preprocessing; the arena refuses a longer sequence."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from export_helpers import exported, op_arch, padded_batch, tiny_space, warmed
from host_c_check import check_host_build

from nasx.export.mcu.build import CFLAGS, build_and_run_host, sources, write_c_export
from nasx.export.preprocess import Preprocessing
from nasx.export.verify import has_act_quant

pytestmark = pytest.mark.skipif(shutil.which("cc") is None,
                                reason="no C compiler (cc) on PATH: the C runtime is not built")

CASES = [  # (causal, first op, second op, wbits, abits)
    (False, "conv", "lstm", 32, 32), (False, "ssm", "attn", 32, 32),
    (True, "attn", "conv", 32, 32), (True, "lstm", "ssm", 32, 32),
    (False, "conv", "attn", 4, 32), (True, "ssm", "lstm", 8, 32),
    (False, "conv", "ssm", 8, 8), (True, "attn", "lstm", 4, 8), (False, "lstm", "attn", 8, 8)]


def _net(causal: bool, op: str, second: str, wbits: int, abits: int, mode: str = "none"):
    import dataclasses

    from nasx.export.net import build_exported

    space = tiny_space(causal=causal)
    arch = op_arch(space, op, wbits=wbits, abits=abits, second=second, stride=2)
    net = exported(warmed(space, [arch]), arch)
    pre = Preprocessing(mode, tuple(float(v) for v in torch.linspace(-1, 2, 5)),
                        tuple(float(v) for v in torch.linspace(0.5, 3, 5)), ("a", "b", "c", "d"))
    return build_exported(dataclasses.replace(net.spec, input=pre), net.tensors(), "t"), arch


@pytest.mark.parametrize(("causal", "op", "second", "wbits", "abits"), CASES)
def test_c_runtime_matches_the_torch_module(tmp_path: Path, causal: bool, op: str, second: str,
                                            wbits: int, abits: int) -> None:
    net, arch = _net(causal, op, second, wbits, abits, mode="channel")
    x, lengths = padded_batch(seed=2, batch=24, length=19)
    x = x * 3.0 + 1.5  # raw, not normalised
    with torch.no_grad():
        ref = net(x, lengths)
    exact = not has_act_quant(arch)
    write_c_export(tmp_path, net, 19, x, lengths, ref, exact)
    ran = check_host_build(tmp_path, ref, exact)
    assert ran.command.startswith(f"cc {' '.join(CFLAGS)} -I. main.c model.c runtime/")
    # the header compiles on its own too (no "defined but not used")
    alone = subprocess.run(["cc", *CFLAGS, "-c", "-x", "c", "model.h", "-o", "/dev/null"],
                           cwd=tmp_path, capture_output=True, text=True, check=False)
    assert alone.returncode == 0, alone.stderr
    # causal subnets also get reset()/step(): after every frame equal to run() on the prefix
    if causal:
        assert ran.stream_max_diff is not None
        assert ran.stream_max_diff <= (1e-5 if exact else 0.05)
        assert "_step(const float *frame, float *logits);" in (tmp_path / "model.h").read_text()
    else:
        assert ran.stream_max_diff is None


def test_series_normalisation_and_length_limits(tmp_path: Path) -> None:
    net, _ = _net(False, "conv", "attn", 32, 32, mode="series")
    x, lengths = padded_batch(seed=5, batch=8, length=12)
    with torch.no_grad():
        ref = net(x * 4.0 - 2.0, lengths)
    write_c_export(tmp_path, net, 12, x * 4.0 - 2.0, lengths, ref, True)
    ran = build_and_run_host(tmp_path, ref.shape[1])
    assert ran.returncode == 0 and float((ran.logits - ref).abs().max()) <= 1e-4
    # a sequence longer than the arena was sized for is refused, not overrun
    main = (tmp_path / "main.c").read_text()
    (tmp_path / "main.c").write_text(main.replace("nasx_golden_length[i], logits)",
                                                  "NASX_GOLDEN_N + 100, logits)"))
    exe = tmp_path / "a.out"
    subprocess.run(["cc", *CFLAGS, "-I.", *sources(tmp_path), "-lm", "-o", str(exe)],
                   cwd=tmp_path, check=True)
    done = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and done.stdout == "error: sample 0: length 12 refused\n"
