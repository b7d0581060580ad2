"""The input preprocessing inside every export: the exported module takes raw data and
normalises it as training did (per channel, per series, or not at all); it survives the files,
the pt2 and ONNX graphs, the streaming form and the C header."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from export_helpers import CHANNELS, CLASSES, exported, op_arch, padded_batch, tiny_space, warmed

from nasx.export import ExportFileError, StreamingNet, load_exported
from nasx.export.c_header import c_header
from nasx.export.files import weights_bytes
from nasx.export.graph_formats import export_onnx, export_pt2, load_pt2, onnx_session, run_onnx
from nasx.export.net import ExportedNet, build_exported
from nasx.export.preprocess import Preprocessing, normalization_of
from nasx.export.verify import check_c_header
from nasx.runs.layout import EXPORT_ARCH_FILE, EXPORT_WEIGHTS_FILE

MEAN = tuple(float(v) for v in torch.linspace(-2.0, 3.0, CHANNELS))
STD = tuple(float(v) for v in torch.linspace(0.5, 4.0, CHANNELS))
NAMES = tuple(f"class-{i}" for i in range(CLASSES))


def _with_input(net: ExportedNet, pre: Preprocessing) -> ExportedNet:
    spec = dataclasses.replace(net.spec, input=pre)
    return build_exported(spec, net.tensors(), "test")


@pytest.fixture(scope="module")
def nets() -> dict[str, ExportedNet]:
    space = tiny_space(causal=True)
    arch = op_arch(space, "conv", second="attn", stem_kernel=3, stride=1)
    base = exported(warmed(space, [arch]), arch)
    return {mode: _with_input(base, Preprocessing(mode, MEAN, STD, NAMES))
            for mode in ("none", "channel", "series")}


def _raw_batch() -> tuple[torch.Tensor, torch.Tensor]:
    x, lengths = padded_batch(seed=3)
    mean, std = torch.tensor(MEAN)[None, :, None], torch.tensor(STD)[None, :, None]
    valid = (torch.arange(x.shape[-1]) < lengths[:, None]).unsqueeze(1)
    return (x * std + mean) * valid, lengths  # raw data: far from zero mean, unit std


def _series_reference(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Per sequence and channel z-score over the valid steps, in float64 numpy."""
    out = np.zeros(x.shape, dtype=np.float64)
    for i, n in enumerate(lengths.tolist()):
        seq = x[i, :, :n].double().numpy()
        std = np.maximum(seq.std(axis=1, ddof=0, keepdims=True), 1e-6)
        out[i, :, :n] = (seq - seq.mean(axis=1, keepdims=True)) / std
    return torch.from_numpy(out).float()


def test_channel_mode_equals_the_normalised_input_through_the_plain_net(nets) -> None:
    x, lengths = _raw_batch()
    mean, std = torch.tensor(MEAN)[None, :, None], torch.tensor(STD)[None, :, None]
    valid = (torch.arange(x.shape[-1]) < lengths[:, None]).unsqueeze(1)
    normed = ((x.double() - mean.double()) / std.double() * valid).float()
    want = nets["none"](normed, lengths)
    got = nets["channel"](x, lengths)
    assert float((got - want).abs().max()) <= 1e-5
    # padded steps are ignored whatever they hold (mode "channel" maps 0 to -mean/std)
    noisy = x + 50.0 * (~valid)
    assert float((nets["channel"](noisy, lengths) - got).abs().max()) == 0.0


def test_series_mode_z_scores_each_sequence_over_its_valid_steps(nets) -> None:
    x, lengths = _raw_batch()
    want = nets["none"](_series_reference(x, lengths), lengths)
    got = nets["series"](x, lengths)
    assert float((got - want).abs().max()) <= 1e-4
    # a constant channel: std floored at 1e-6, so it becomes exactly 0
    flat = x.clone()
    flat[:, 2, :] = 7.0 * (torch.arange(x.shape[-1]) < lengths[:, None])
    ref = _series_reference(flat, lengths)
    assert float(ref[:, 2].abs().max()) == 0.0
    assert float((nets["series"](flat, lengths) - nets["none"](ref, lengths)).abs().max()) <= 1e-4


def test_preprocessing_round_trips_through_the_files(nets, tmp_path: Path) -> None:
    net = nets["channel"]
    (tmp_path / EXPORT_ARCH_FILE).write_text(json.dumps(net.spec.to_json()))
    (tmp_path / EXPORT_WEIGHTS_FILE).write_bytes(weights_bytes(net))
    back = load_exported(tmp_path)
    assert back.spec.input == net.spec.input and back.spec.input.classes == NAMES
    doc = json.loads((tmp_path / EXPORT_ARCH_FILE).read_text())["input"]
    assert doc["normalization"] == "channel" and doc["mean"] == list(MEAN)
    x, lengths = _raw_batch()
    assert torch.equal(back(x, lengths), net(x, lengths))
    # arch.json edited to another normalisation no longer matches the weights' metadata
    doc = json.loads((tmp_path / EXPORT_ARCH_FILE).read_text())
    doc["input"]["normalization"] = "none"
    (tmp_path / EXPORT_ARCH_FILE).write_text(json.dumps(doc))
    with pytest.raises(ExportFileError, match=r"model.safetensors: its input preprocessing or "
                       r"class names differ from arch.json's; export the subnet again"):
        load_exported(tmp_path)
    doc["input"]["normalization"] = "minmax"
    (tmp_path / EXPORT_ARCH_FILE).write_text(json.dumps(doc))
    with pytest.raises(ExportFileError, match=r"arch.json: malformed \(ValueError: normalization "
                       r"'minmax' is not one of channel, series, none\)"):
        load_exported(tmp_path)


@pytest.mark.parametrize("mode", ["channel", "series"])
def test_pt2_and_onnx_graphs_take_raw_input(nets, mode: str, tmp_path: Path) -> None:
    net = nets[mode]
    x, lengths = _raw_batch()
    want = net(x, lengths)
    export_pt2(net, tmp_path / "m.pt2", x.shape[-1])
    assert float((load_pt2(tmp_path / "m.pt2")(x, lengths) - want).abs().max()) <= 1e-5
    export_onnx(net, tmp_path / "m.onnx", x.shape[-1])
    got = run_onnx(onnx_session(tmp_path / "m.onnx"), x, lengths)
    assert float((got - want).abs().max()) <= 1e-4


def test_streaming_normalises_each_frame_and_refuses_series(nets) -> None:
    full, _ = _raw_batch()  # every step counts as valid (lengths None), padding included
    net = nets["channel"]
    streamed = StreamingNet(net).run(full)[:, :, -1]
    assert float((streamed - net(full, None)).abs().max()) <= 1e-5
    with pytest.raises(ValueError, match=r"not streamable: the input's per-series normalisation "
                       r"\(it needs the whole sequence\); train with per-channel normalisation"):
        StreamingNet(nets["series"])


def test_c_header_holds_the_statistics_and_class_names(nets) -> None:
    net = nets["channel"]
    text = c_header(net)
    up = f"NASX_{net.spec.id.upper()}"
    assert f"#define {up}_NORMALIZATION 1\n" in text
    assert f'_classes[{CLASSES}] = {{"class-0", "class-1", "class-2", "class-3"}};' in text
    assert check_c_header(text, net).passed
    assert f"#define {up}_NORMALIZATION 2\n" in c_header(nets["series"])


def test_normalization_of_reads_the_loaded_data() -> None:
    class Old:
        normalized = True

    class New:
        normalization = "series"
        normalized = True

    assert normalization_of(Old()) == "channel"
    assert normalization_of(New()) == "series"
    Old.normalized = False
    assert normalization_of(Old()) == "none"
