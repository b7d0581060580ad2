"""Genome encode/decode, inactive genes and the stability of arch ids."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from nasx.errors import ArchError
from nasx.search_spaces import (
    GenomeCodec,
    arch_id,
    largest_arch,
    load_space,
    preset_names,
    random_arch,
    smallest_arch,
)


@pytest.mark.parametrize("name", ["tiny", "hybrid-mcu", "hybrid-gpu"])
def test_round_trip_1000_random_archs(name: str) -> None:
    space = load_space(name)
    codec = GenomeCodec(space)
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(1000):
        arch = random_arch(space, rng)
        g = codec.encode(arch)
        assert g.shape == (codec.length,) and g.dtype == np.int64
        assert np.all((g >= 0) & (g <= codec.upper))
        assert codec.decode(g) == arch
        assert not np.any(g[~codec.active_mask(g)])  # inactive genes are written as 0
        seen.add(arch_id(arch))
    assert len(seen) > 990  # ids separate distinct archs


def test_random_genomes_decode_and_reencode_with_inactive_genes_zeroed() -> None:
    codec = GenomeCodec(load_space("hybrid-mcu"))
    rng = np.random.default_rng(0)
    for _ in range(300):
        g = rng.integers(0, codec.upper + 1)
        again = codec.encode(codec.decode(g))
        active = codec.active_mask(g)
        assert np.array_equal(again[active], g[active])
        assert not np.any(again[~active])


def test_genome_layout_of_tiny() -> None:
    codec = GenomeCodec(load_space("tiny"))
    names = [g.name for g in codec.genes]
    assert names[:6] == [
        "stem.width",
        "stem.kernel",
        "stem.stride",
        "stem.wbits",
        "stem.abits",
        "stages[0].depth",
    ]
    assert "stages[0].blocks[1].lstm.hidden" in names
    assert "stages[1].blocks[0].lstm.hidden" not in names  # stage 1 allows no lstm
    assert codec.length == 53
    g = codec.encode(smallest_arch(codec.space))
    assert codec.active_mask(g).sum() == 5 + 2 * (5 + 1 + 2 + 2)  # stem, stages, one conv slot each


def test_decode_errors() -> None:
    codec = GenomeCodec(load_space("tiny"))
    with pytest.raises(ArchError, match=r"^genome: expected 53 genes, got shape \(3,\)$"):
        codec.decode([0, 0, 0])
    g = np.zeros(codec.length, dtype=np.int64)
    g[0] = 5
    with pytest.raises(ArchError) as info:
        codec.decode(g)
    assert str(info.value) == "genome: gene 0 (stem.width) = 5 is out of range 0..1"


# Golden ids: an arch id must never change between versions or processes.
GOLDEN = {
    "tiny": "863381c5540e",
    "hybrid-mcu": "29b0ae725891",
    "hybrid-gpu": "f0495083a497",
    "hybrid-long": "69f623820625",
}


def test_arch_ids_are_golden_and_the_same_in_another_process() -> None:
    ours = {n: arch_id(largest_arch(load_space(n))) for n in preset_names()}
    assert ours == GOLDEN
    code = (
        "import json, numpy as np\n"
        "from nasx.search_spaces import arch_id, load_space, random_arch, largest_arch\n"
        "rng = np.random.default_rng(3)\n"
        "s = load_space('hybrid-mcu')\n"
        "print(json.dumps([arch_id(largest_arch(s))] + "
        "[arch_id(random_arch(s, rng)) for _ in range(20)]))\n"
    )
    env_out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
    )
    rng = np.random.default_rng(3)
    space = load_space("hybrid-mcu")
    here = [arch_id(largest_arch(space))] + [arch_id(random_arch(space, rng)) for _ in range(20)]
    assert json.loads(env_out.stdout) == here
