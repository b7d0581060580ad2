"""The C99 runtime of exported subnets: ``nasx export --format c`` writes ``model.h`` (weights
and layer table), ``model.c`` (the network as calls into the runtime over one static arena),
``runtime/`` (the runtime's sources), ``golden.h`` (validation inputs and expected logits) and
``main.c`` (checks them).

The C sources live in ``runtime/`` inside this package (package data), beside the Python that
emits calls into them: one C file per kernel (``nasx_conv.c``, ``nasx_lstm.c``, ...) and one
small emitter per block op (:mod:`.op_conv`, :mod:`.op_lstm`, :mod:`.op_ssm`, :mod:`.op_attn`),
so each op's C emitter can move into an op registry as one unit. They are not under
``kernels/``: that package holds torch/Triton kernels imported as Python, these are files the
exporter copies.
"""

from __future__ import annotations

from nasx.export.mcu.emit import ModelSource, model_source

__all__ = ["ModelSource", "model_source"]
