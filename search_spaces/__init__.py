"""The search-space language: YAML schema and validation, archs, genomes and sampling.

Imported as ``nasx.search_spaces`` (the folder ``search_spaces/`` is mapped into the package).
"""

from __future__ import annotations

from nasx.ops.layout import entry_kernel, inner_width
from nasx.search_spaces.arch import (
    Arch,
    BlockChoices,
    StageChoices,
    StemChoices,
    arch_id,
    arch_json,
    canonical_arch,
    describe_arch,
    load_arch,
)
from nasx.search_spaces.genome import Gene, GenomeCodec
from nasx.search_spaces.loader import (
    dump_space_yaml,
    load_space,
    preset_names,
    space_from_dict,
    space_to_dict,
)
from nasx.search_spaces.sampling import count_subnets, largest_arch, random_arch, smallest_arch
from nasx.search_spaces.schema import (
    OP_CHOICE_KEYS,
    OP_TYPES,
    HeadSpace,
    QuantSpace,
    SearchSpace,
    StageSpace,
    StemSpace,
)

__all__ = [
    "OP_CHOICE_KEYS",
    "OP_TYPES",
    "Arch",
    "BlockChoices",
    "Gene",
    "GenomeCodec",
    "HeadSpace",
    "QuantSpace",
    "SearchSpace",
    "StageChoices",
    "StageSpace",
    "StemChoices",
    "StemSpace",
    "arch_id",
    "arch_json",
    "canonical_arch",
    "count_subnets",
    "describe_arch",
    "dump_space_yaml",
    "entry_kernel",
    "inner_width",
    "largest_arch",
    "load_arch",
    "load_space",
    "preset_names",
    "random_arch",
    "smallest_arch",
    "space_from_dict",
    "space_to_dict",
]
