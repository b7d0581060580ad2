"""Fixed-length integer genome of an arch, for predictors and NSGA-II.

One gene per choice of the space, whether active or not: stem choices, then per stage its
depth, width, stride and entry bits, then per block slot (up to the stage's largest depth) the op
and every op's choices and the block's bits. A gene holds an index into its choice list.
Genes of slots beyond the depth and of ops not chosen are inactive: :meth:`GenomeCodec.encode`
writes 0 there and :meth:`GenomeCodec.decode` ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nasx.errors import ArchError
from nasx.search_spaces.arch import Arch, canonical_arch
from nasx.search_spaces.schema import OP_CHOICE_KEYS, SearchSpace


@dataclass(frozen=True)
class Gene:
    """One gene: its dotted name, its choices, and where it sits in the arch."""

    name: str
    choices: tuple[Any, ...]
    stage: int = -1  # -1: the stem
    slot: int = -1  # -1: not a block gene
    op: str = ""  # "" unless the gene is one op's choice
    key: str = ""


class GenomeCodec:
    """Encodes archs of one search space to integer genomes and back.

    Example:
        >>> from nasx.search_spaces import load_space, largest_arch
        >>> codec = GenomeCodec(load_space("tiny"))
        >>> arch = largest_arch(codec.space)
        >>> codec.decode(codec.encode(arch)) == arch
        True
    """

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        q = space.quant
        genes = [
            Gene(f"stem.{k}", c, key=k)
            for k, c in (
                ("width", space.stem.width),
                ("kernel", space.stem.kernel),
                ("stride", space.stem.stride),
                ("wbits", q.weight_bits),
                ("abits", q.act_bits),
            )
        ]
        for i, st in enumerate(space.stages):
            for k, c in (
                ("depth", st.depth),
                ("width", st.width),
                ("stride", st.stride),
                ("wbits", q.weight_bits),
                ("abits", q.act_bits),
            ):
                genes.append(Gene(f"stages[{i}].{k}", c, stage=i, key=k))
            for j in range(st.max_depth):
                pre = f"stages[{i}].blocks[{j}]"
                genes.append(Gene(f"{pre}.op", st.ops, stage=i, slot=j, key="op"))
                for op in st.ops:
                    for k in OP_CHOICE_KEYS[op]:
                        genes.append(
                            Gene(
                                f"{pre}.{op}.{k}",
                                getattr(space.ops[op], k),
                                stage=i,
                                slot=j,
                                op=op,
                                key=k,
                            )
                        )
                genes.append(Gene(f"{pre}.wbits", q.weight_bits, stage=i, slot=j, key="wbits"))
                genes.append(Gene(f"{pre}.abits", q.act_bits, stage=i, slot=j, key="abits"))
        self.genes: tuple[Gene, ...] = tuple(genes)
        self._index = {g.name: n for n, g in enumerate(self.genes)}
        # Inclusive upper bound of every gene (pymoo's xu).
        self.upper = np.array([len(g.choices) - 1 for g in self.genes], dtype=np.int64)
        self._activity_plan()

    def _activity_plan(self) -> None:
        """Index arrays for :meth:`active_masks`: a block gene is active when its slot lies
        within its stage's depth and, for an op's own choice, when the slot holds that op."""
        stages = self.space.stages
        self._depth_gene = np.array([self._index[f"stages[{i}].depth"]
                                     for i in range(len(stages))], dtype=np.int64)  # (S,)
        most = max(len(st.depth) for st in stages)
        self._depth_values = np.zeros((len(stages), most), dtype=np.int64)  # (S, choices)
        for i, st in enumerate(stages):
            self._depth_values[i, : len(st.depth)] = st.depth
        block = [n for n, g in enumerate(self.genes) if g.slot >= 0]
        self._block = np.array(block, dtype=np.int64)  # (B,) genes of block slots
        self._block_stage = np.array([self.genes[n].stage for n in block], dtype=np.int64)
        self._block_slot = np.array([self.genes[n].slot for n in block], dtype=np.int64)
        op_gene, op_index = [], []
        for n in block:
            g = self.genes[n]
            k = self._index[f"stages[{g.stage}].blocks[{g.slot}].op"] if g.op else 0
            op_gene.append(k)
            op_index.append(self.genes[k].choices.index(g.op) if g.op else -1)
        self._op_gene = np.array(op_gene, dtype=np.int64)  # (B,)
        self._op_index = np.array(op_index, dtype=np.int64)  # (B,) -1: not an op's choice

    def gene_index(self, name: str) -> int:
        """Position of gene ``name`` (e.g. ``stages[0].stride``) in the genome."""
        return self._index[name]

    @property
    def length(self) -> int:
        """Number of genes."""
        return len(self.genes)

    def encode(self, arch: Arch) -> np.ndarray:
        """Integer genome ``(length,)`` of ``arch`` (validated first); inactive genes are 0."""
        a = canonical_arch(self.space, arch)
        g = np.zeros(self.length, dtype=np.int64)

        def put(name: str, value: Any) -> None:
            n = self._index[name]
            g[n] = self.genes[n].choices.index(value)

        for k in ("width", "kernel", "stride", "wbits", "abits"):
            put(f"stem.{k}", a["stem"][k])
        for i, st in enumerate(a["stages"]):
            for k in ("depth", "width", "stride", "wbits", "abits"):
                put(f"stages[{i}].{k}", st[k])
            for j, b in enumerate(st["blocks"]):
                pre = f"stages[{i}].blocks[{j}]"
                put(f"{pre}.op", b["op"])
                for k in OP_CHOICE_KEYS[b["op"]]:
                    put(f"{pre}.{b['op']}.{k}", b[k])
                put(f"{pre}.wbits", b["wbits"])
                put(f"{pre}.abits", b["abits"])
        return g

    def decode(self, genome: Any) -> Arch:
        """The canonical arch of ``genome`` (inactive genes ignored).

        Raises:
            ArchError: wrong length or a gene out of its range.
        """
        g = np.asarray(genome)
        if g.shape != (self.length,):
            raise ArchError(f"genome: expected {self.length} genes, got shape {tuple(g.shape)}")
        bad = np.nonzero((g < 0) | (g > self.upper))[0]
        if bad.size:
            n = int(bad[0])
            raise ArchError(
                f"genome: gene {n} ({self.genes[n].name}) = {int(g[n])} is out of "
                f"range 0..{int(self.upper[n])}"
            )

        def get(name: str) -> Any:
            n = self._index[name]
            return self.genes[n].choices[int(g[n])]

        stem = {k: get(f"stem.{k}") for k in ("width", "kernel", "stride", "wbits", "abits")}
        stages = []
        for i, _ in enumerate(self.space.stages):
            st: dict[str, Any] = {
                k: get(f"stages[{i}].{k}") for k in ("depth", "width", "stride", "wbits", "abits")
            }
            blocks = []
            for j in range(st["depth"]):
                pre = f"stages[{i}].blocks[{j}]"
                op = get(f"{pre}.op")
                b: dict[str, Any] = {"op": op}
                for k in OP_CHOICE_KEYS[op]:
                    b[k] = get(f"{pre}.{op}.{k}")
                b["wbits"] = get(f"{pre}.wbits")
                b["abits"] = get(f"{pre}.abits")
                blocks.append(b)
            st["blocks"] = blocks
            stages.append(st)
        return {"stem": stem, "stages": stages}

    def active_mask(self, genome: Any) -> np.ndarray:
        """Boolean ``(length,)``: which genes of ``genome`` take part in its arch."""
        return self.active_masks(np.asarray(genome)[None])[0]

    def active_masks(self, genomes: Any) -> np.ndarray:
        """Boolean ``(n, length)``: which genes of each genome ``(n, length)`` take part in its
        arch (vectorised; genes must be in range)."""
        g = np.asarray(genomes, dtype=np.int64)  # (n, G)
        stage = np.arange(len(self._depth_gene))
        depth = self._depth_values[stage, g[:, self._depth_gene]]  # (n, S)
        slot_on = self._block_slot < depth[:, self._block_stage]  # (n, B)
        op_ok = (self._op_index < 0) | (g[:, self._op_gene] == self._op_index)  # (n, B)
        mask = np.ones(g.shape, dtype=bool)
        mask[:, self._block] = slot_on & op_ok
        return mask
