"""Canonical genomes and the pymoo operators that keep them canonical."""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.core.population import Population

from nasx.search.operators import (
    ArchiveDuplicates,
    GenomeCrossover,
    GenomeMutation,
    GenomeSampling,
    fill_inactive,
    genome_key,
)
from nasx.search.repair import GenomeRepair
from nasx.search_spaces import GenomeCodec, load_space


@pytest.fixture(scope="module", params=["tiny", "hybrid-mcu"])
def repair(request: pytest.FixtureRequest) -> GenomeRepair:
    return GenomeRepair(GenomeCodec(load_space(request.param)))


def junk(repair: GenomeRepair, n: int, seed: int = 0) -> np.ndarray:
    """Random genomes with every gene (active or not) uniform over its range."""
    upper = repair.codec.upper
    return np.floor(np.random.default_rng(seed).random((n, len(upper))) * (upper + 1)).astype(int)


def test_repair_is_the_canonical_encoding(repair: GenomeRepair) -> None:
    codec = repair.codec
    raw = junk(repair, 300)
    fixed = repair(raw)
    for g, f in zip(raw, fixed, strict=True):
        arch = codec.decode(g)
        assert codec.decode(f) == arch  # same arch
        np.testing.assert_array_equal(f, codec.encode(arch))  # encode writes 0 where inactive
    np.testing.assert_array_equal(repair(fixed), fixed)  # idempotent
    # inactive junk really was there, so the test can fail
    assert (raw != fixed).any()


def test_active_mask_matches_the_codec(repair: GenomeRepair) -> None:
    raw = junk(repair, 100, seed=1)
    expected = np.array([repair.codec.active_mask(g) for g in raw])
    np.testing.assert_array_equal(repair.active(raw), expected)


def test_repair_clips_out_of_range_genes(repair: GenomeRepair) -> None:
    upper = repair.codec.upper
    g = repair(np.vstack([upper + 3, -np.ones_like(upper)]))
    assert (g >= 0).all() and (g <= upper).all()
    np.testing.assert_array_equal(g[1], np.zeros_like(upper))


def test_sampling_is_canonical_and_seeded(repair: GenomeRepair) -> None:
    s = GenomeSampling(repair)
    a = s._do(None, 50, random_state=np.random.default_rng(4))
    b = s._do(None, 50, random_state=np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(repair(a), a)
    assert len({genome_key(g) for g in a}) > 45


def test_fill_inactive_keeps_active_genes(repair: GenomeRepair) -> None:
    g = repair(junk(repair, 40, seed=2))
    filled = fill_inactive(repair, g, np.random.default_rng(0))
    active = repair.active(g)
    np.testing.assert_array_equal(filled[active], g[active])
    np.testing.assert_array_equal(repair(filled), g)
    assert (filled[~active] != 0).any()


def test_mutation_redraws_every_active_gene_at_prob_var_one(repair: GenomeRepair) -> None:
    g = repair(junk(repair, 30, seed=3))
    out = GenomeMutation(repair, prob_var=1.0)._do(None, g, random_state=np.random.default_rng(1))
    can_change = repair.active(g) & (repair.codec.upper > 0)
    assert (out[can_change] != g[can_change]).all()
    assert (out >= 0).all() and (out <= repair.codec.upper).all()


def test_mutation_default_changes_at_least_one_gene(repair: GenomeRepair) -> None:
    g = repair(junk(repair, 2000, seed=4))
    out = GenomeMutation(repair)._do(None, g, random_state=np.random.default_rng(2))
    active = repair.active(g) & (repair.codec.upper > 0)
    changed = ((out != g) & active).sum(axis=1)
    assert (changed >= 1).all()
    # 1 / n per gene, plus one forced gene when none was drawn: 1 + (1 - 1/n)^n ~ 1.37
    assert 1.25 < changed.mean() < 1.5


def test_crossover_children_take_each_active_gene_from_a_parent(repair: GenomeRepair) -> None:
    a = repair(junk(repair, 25, seed=5))
    b = repair(junk(repair, 25, seed=6))
    kids = GenomeCrossover(repair)._do(None, np.stack([a, b]),
                                       random_state=np.random.default_rng(3))
    both = repair.active(a) & repair.active(b)
    for kid in kids:
        assert ((kid == a) | (kid == b))[both].all()
    # uniform crossover: the two children are complementary where both parents are active
    assert ((kids[0] == a) == (kids[1] == b))[both & (a != b)].all()


def test_duplicates_are_removed_against_the_archive_and_each_other() -> None:
    rep = GenomeRepair(GenomeCodec(load_space("tiny")))
    g = rep(junk(rep, 4, seed=7))
    seen = {genome_key(g[0])}
    pop = Population.new("X", np.vstack([g, g[1:2]]))
    elim = ArchiveDuplicates(seen)
    kept = elim.do(pop)
    assert [genome_key(x) for x in kept.get("X")] == [genome_key(r) for r in g[1:]]
    other = Population.new("X", g[2:3])
    kept = elim.do(Population.new("X", g), other)
    assert [genome_key(x) for x in kept.get("X")] == [genome_key(g[1]), genome_key(g[3])]
