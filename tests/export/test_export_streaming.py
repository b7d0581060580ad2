"""Streaming (frame by frame) equals whole-sequence inference for causal subnets; non-causal
subnets are refused with a message naming the layer."""

from __future__ import annotations

import pytest
import torch
from export_helpers import CHANNELS, exported, op_arch, tiny_space, warmed

from nasx.export import NotStreamableError, StreamingNet
from nasx.export.verify import streaming_logits
from nasx.search_spaces import space_from_dict, space_to_dict


@pytest.mark.parametrize("op", ["conv", "lstm", "ssm", "attn"])
def test_streaming_equals_whole_sequence_at_every_step(op: str) -> None:
    space = tiny_space(causal=True)
    arch = op_arch(space, op)  # the second stage strides by 2: it runs on every other frame
    net = warmed(space, [arch])
    ex = exported(net, arch)
    x = torch.randn(3, CHANNELS, 13, generator=torch.Generator().manual_seed(2))
    streamed = StreamingNet(ex).run(x)  # (B, K, L)
    with torch.no_grad():
        for t in range(x.shape[-1]):
            prefix = net(x[:, :, : t + 1], None, arch=arch)  # the supernet on the first t+1
            assert (streamed[:, :, t] - prefix).abs().max() <= 1e-5, t


def test_streaming_state_is_functional_and_per_layer() -> None:
    space = tiny_space(causal=True)
    arch = op_arch(space, "attn", second="ssm")
    stream = StreamingNet(exported(warmed(space, [arch], steps=1), arch))
    state = stream.init_state(batch=2)
    assert state["stages.0.blocks.0.k"].shape == (2, 2, 0, 8)  # empty KV cache
    assert state["stages.1.blocks.0.h"].shape == (2, 48, 8)  # SSM state (E, N)
    frame = torch.randn(2, CHANNELS)
    _, s1 = stream.step(frame, state)
    _, s2 = stream.step(frame, s1)
    assert state["stages.0.blocks.0.k"].shape[2] == 0  # the old state is not modified
    assert s1["stages.0.blocks.0.k"].shape[2] == 1 and s2["stages.0.blocks.0.k"].shape[2] == 2
    assert int(s2["stages.1.entry.count"]) == 2 and int(s2["pool.count"]) == 1  # stride 2


def test_quantized_streaming_agrees_with_whole_sequence() -> None:
    space = tiny_space(causal=True)
    arch = op_arch(space, "lstm", 8, 8, second="conv")
    net = warmed(space, [arch])
    ex = exported(net, arch)
    g = torch.Generator().manual_seed(5)
    lengths = torch.randint(1, 16, (24,), generator=g)
    x = torch.randn(24, CHANNELS, 15, generator=g) * (torch.arange(15) < lengths[:, None])[:, None]
    with torch.no_grad():
        ref = net(x, lengths, arch=arch)
    out = streaming_logits(ex, x, lengths)
    assert torch.equal(out.argmax(1), ref.argmax(1))
    assert (out - ref).abs().max() < 0.05


def test_non_causal_subnets_are_not_streamable() -> None:
    space = tiny_space(causal=False)
    arch = op_arch(space, "lstm")
    ex = exported(warmed(space, [arch], steps=1), arch)
    with pytest.raises(NotStreamableError) as err:
        StreamingNet(ex)
    assert str(err.value) == ("not streamable: stem (conv) is not causal ('same' padding, "
                              "kernel 5); train a space with 'causal: true' to get streamable "
                              "subnets")


def test_the_first_non_causal_layer_is_named_and_pointwise_nets_stream() -> None:
    raw = space_to_dict(tiny_space(causal=False))
    raw["stem"]["kernel"] = [1]  # pointwise stem and entries: causal whatever the space says
    for st in raw["stages"]:
        st["stride"] = [1]
    space = space_from_dict(raw)
    arch = op_arch(space, "lstm", second="attn", stem_kernel=1, stride=1)
    net = warmed(space, [arch], steps=1)
    with pytest.raises(NotStreamableError, match=r"^not streamable: stages\[1\]\.blocks\[0\] "
                       r"\(attn\) is not causal \(attention over the whole sequence\);"):
        StreamingNet(exported(net, arch))
    arch["stages"][1]["blocks"][0] = {"op": "ssm", "state": 4, "expand": 1, "wbits": 32,
                                      "abits": 32}
    net = warmed(space, [arch], steps=1)
    x = torch.randn(2, CHANNELS, 9)
    with torch.no_grad():
        whole = net(x, None, arch=arch)
    assert (StreamingNet(exported(net, arch)).run(x)[:, :, -1] - whole).abs().max() <= 1e-5
