"""nasx: one-shot neural architecture search for hybrid conv / LSTM / SSM / attention networks."""

from __future__ import annotations

__version__ = "0.1.0"
