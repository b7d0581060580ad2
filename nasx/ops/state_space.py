"""What the state-space ops (``ssm``, ``mamba``) declare alike: a state size ``N`` and an
expand ratio (inner width ``E = expand x`` stage width), and their cost-unit key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nasx.ops.base import ChoiceChecker, Number
from nasx.ops.layout import inner_width


@dataclass(frozen=True)
class StateExpandSpace:
    """A state-space block's choices: state sizes and expand ratios."""

    state: tuple[int, ...]
    expand: tuple[Number, ...]

    @classmethod
    def parse(cls, c: ChoiceChecker, raw: Mapping[str, Any], key: str) -> StateExpandSpace:
        """The space (of this class) from the merged YAML mapping under ``key``."""
        return cls(state=c.ints(raw["state"], f"{key}.state"),
                   expand=c.ratios(raw["expand"], f"{key}.expand"))


def state_expand_unit(spec: StateExpandSpace, width: int,
                      b: Mapping[str, Any]) -> tuple[Any, ...]:
    """Cost-unit choices of a state-space block: ``(width, inner width E, state N)``."""
    return (width, inner_width(width, b["expand"]), b["state"])
