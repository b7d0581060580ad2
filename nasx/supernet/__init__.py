"""The elastic hybrid supernet and the static subnets extracted from it."""

from __future__ import annotations

from nasx.supernet.net import Supernet
from nasx.supernet.static_net import StaticNet, StaticStage

__all__ = ["StaticNet", "StaticStage", "Supernet"]
