"""The elastic hybrid supernet and the static subnets extracted from it."""

from __future__ import annotations

from nasx.supernet.net import BLOCK_TYPES, Supernet
from nasx.supernet.static_net import StaticNet, StaticStage

__all__ = ["BLOCK_TYPES", "StaticNet", "StaticStage", "Supernet"]
