"""The exported module (arch.json + model.safetensors -> load_exported) equals the supernet
subnet; quantized weights keep their codes; the files are checked on load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from export_helpers import exported, op_arch, padded_batch, tiny_space, warmed

from nasx import load_exported
from nasx.export import ExportFileError
from nasx.export.files import weights_bytes
from nasx.export.layers import DeployActQuant
from nasx.export.quantized import pack_int4, quantize_weight, unpack_int4
from nasx.kernels.fake_quant import fake_quant_weight
from nasx.runs.layout import EXPORT_ARCH_FILE, EXPORT_WEIGHTS_FILE
from nasx.supernet.quant import ActQuant

OPS = ("conv", "lstm", "ssm", "attn")


def _save(net, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / EXPORT_ARCH_FILE).write_text(json.dumps(net.spec.to_json()))
    (folder / EXPORT_WEIGHTS_FILE).write_bytes(weights_bytes(net))
    return folder


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(("wbits", "abits"), [(32, 32), (8, 32), (4, 32)])
def test_load_exported_equals_supernet_within_1e5(tmp_path: Path, op: str, wbits: int,
                                                   abits: int) -> None:
    space = tiny_space()
    arch = op_arch(space, op, wbits, abits, second="conv" if op == "lstm" else None)
    net = warmed(space, [arch])
    loaded = load_exported(_save(exported(net, arch), tmp_path / "e"))
    x, lengths = padded_batch()
    with torch.no_grad():
        ref = net(x, lengths, arch=arch)
        assert (loaded(x, lengths) - ref).abs().max() <= 1e-5
        full = torch.randn(3, 5, 11)  # lengths=None: the unmasked fast path
        assert (loaded(full) - net(full, None, arch=arch)).abs().max() <= 1e-5
    # BN folded: no BatchNorm statistics remain in the file
    tensors = loaded.tensors()
    assert not any("running" in k for k in tensors)
    if wbits < 32:
        assert tensors["stem.weight_scale"].shape == (16,)


@pytest.mark.parametrize("op", OPS)
def test_activation_quantized_subnets_agree(op: str) -> None:
    space = tiny_space()
    arch = op_arch(space, op, 8, 8, second="attn" if op == "lstm" else None)
    net = warmed(space, [arch])
    ex = exported(net, arch)
    x, lengths = padded_batch(seed=4, batch=32)
    with torch.no_grad():
        ref, out = net(x, lengths, arch=arch), ex(x, lengths)
    # BN folding may move a rare value across a rounding boundary; nothing more.
    assert torch.equal(out.argmax(1), ref.argmax(1))
    assert (out - ref).abs().max() < 0.05


def test_weight_codes_reproduce_fake_quantization_bit_for_bit() -> None:
    w = torch.randn(7, 3, 5)
    for bits in (2, 4, 8, 12):
        codes, scale = quantize_weight(w, bits)
        assert torch.equal(codes.float() * scale[:, None, None], fake_quant_weight(w, bits))
        assert int(codes.abs().max()) == 2 ** (bits - 1) - 1


def test_deploy_activation_quantizer_equals_supernet_quantizer() -> None:
    aq = ActQuant()
    aq.amax.fill_(1.7)
    aq.seen.fill_(True)
    aq.eval()
    x = torch.randn(4, 6, 9) * 2
    for bits in (8, 4):
        out = DeployActQuant(bits, aq.amax)(x)
        qmax = 2 ** (bits - 1) - 1
        codes = out / (1.7 / qmax)
        assert torch.allclose(codes, codes.round(), atol=1e-4) and codes.abs().max() <= qmax + 1e-4
        # the supernet's straight-through form x + (q - x) differs from q by at most an ulp
        assert (out - aq(x, bits)).abs().max() <= 1e-6


def test_int4_packing_is_exact_and_low_nibble_first() -> None:
    assert pack_int4(torch.tensor([-1, 7, -8])).tolist() == [0x7F, 0x08]
    codes = torch.arange(-8, 8, dtype=torch.int8).repeat(3)[:-1]  # odd count: 47 codes
    packed = pack_int4(codes)
    assert packed.dtype == torch.uint8 and packed.numel() == 24
    assert torch.equal(unpack_int4(packed, 47), codes)
    with pytest.raises(ValueError, match=r"\[-8, 7\]"):
        pack_int4(torch.tensor([8]))


def test_int4_weights_are_packed_in_the_file(tmp_path: Path) -> None:
    space = tiny_space()
    arch = op_arch(space, "ssm", 4, 32)
    ex = exported(warmed(space, [arch]), arch)
    tensors = ex.tensors()
    packed = tensors["stages.0.blocks.0.in_proj.weight_i4x2"]
    w = ex.stages[0].blocks[0].in_proj.weight
    assert packed.dtype == torch.uint8 and packed.numel() == (w.codes.numel() + 1) // 2
    assert "stages.0.blocks.0.in_proj.weight" not in tensors
    assert torch.equal(unpack_int4(packed, w.codes.numel()).reshape(w.codes.shape), w.codes)


def test_corrupt_safetensors_is_a_one_line_error_naming_the_file(tmp_path: Path) -> None:
    space = tiny_space()
    arch = op_arch(space, "conv")
    folder = _save(exported(warmed(space, [arch], steps=1), arch), tmp_path / "e")
    weights = folder / EXPORT_WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-100])  # truncated
    with pytest.raises(ExportFileError) as err:
        load_exported(folder)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{weights}: not a readable safetensors file")
    assert msg.endswith("the file is truncated or corrupt: export the subnet again "
                        "(nasx export --overwrite)")


def test_weights_of_another_subnet_are_refused(tmp_path: Path) -> None:
    space = tiny_space()
    a, b = op_arch(space, "conv"), op_arch(space, "attn")
    net = warmed(space, [a, b], steps=1)
    folder = _save(exported(net, a), tmp_path / "e")
    (folder / EXPORT_WEIGHTS_FILE).write_bytes(weights_bytes(exported(net, b)))
    with pytest.raises(ExportFileError, match=r"model\.safetensors: written for arch "):
        load_exported(folder)
    with pytest.raises(ExportFileError, match=r"not an export folder \(no arch\.json\)"):
        load_exported(tmp_path)
