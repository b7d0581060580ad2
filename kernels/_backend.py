"""Which backend runs a fused op: the guarded Triton import and the dispatch rule.

Triton is optional (CPU-only installs may lack it), so it is imported here once, inside a
``try``; kernel modules (``*_triton.py``) are imported lazily, only on the Triton path.

Dispatch rule, shared by every ``nasx::`` custom op: CUDA tensors run the Triton kernels; CPU
tensors run the pure-torch path, except inside :func:`triton_on_cpu` while ``TRITON_INTERPRET=1``
(the interpreter tests), where CPU tensors also take the Triton path so the exact GPU code,
custom-op wiring and autograd formulas are exercised without a GPU.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

try:  # optional dependency: everything below works without it
    import triton
    import triton.language as tl

    HAS_TRITON = True
except ImportError:  # pragma: no cover - exercised only on installs without triton
    triton = None
    tl = None
    HAS_TRITON = False

_FORCE_ON_CPU = False


def interpreting() -> bool:
    """True when the Triton interpreter is on (``TRITON_INTERPRET=1`` before triton's import)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


@contextlib.contextmanager
def triton_on_cpu() -> Iterator[None]:
    """Route CPU tensors through the Triton kernels (interpreter tests only).

    Raises:
        RuntimeError: when triton is missing or ``TRITON_INTERPRET`` is not ``1``.
    """
    global _FORCE_ON_CPU
    if not (HAS_TRITON and interpreting()):
        raise RuntimeError("triton_on_cpu() needs triton and TRITON_INTERPRET=1")
    previous, _FORCE_ON_CPU = _FORCE_ON_CPU, True
    try:
        yield
    finally:
        _FORCE_ON_CPU = previous


def use_triton(t: Tensor) -> bool:
    """True when an op on tensors like ``t`` should run its Triton kernel."""
    if not HAS_TRITON:
        return False
    return t.is_cuda or (_FORCE_ON_CPU and interpreting() and t.device.type == "cpu")


def compute_dtype(*tensors: Tensor | None) -> torch.dtype:
    """Accumulation dtype of a kernel: float64 if any input is float64, else float32."""
    if any(t is not None and t.dtype == torch.float64 for t in tensors):
        return torch.float64
    return torch.float32


def tl_dtype(dtype: torch.dtype) -> Any:
    """The ``tl`` dtype (a constexpr kernel argument) for a torch accumulation dtype."""
    return tl.float64 if dtype == torch.float64 else tl.float32


@dataclass(frozen=True)
class KernelSpec:
    """One kernel instantiation for the ahead-of-time compile gate (``tools/compile_gate.py``).

    Attributes:
        name: label in the gate's report.
        fn: the ``@triton.jit`` function.
        signature: argument name -> Triton type string (``"*fp32"``, ``"i32"``, ``"constexpr"``).
        constexprs: values of the ``constexpr`` arguments.
        options: compile options (``num_warps``, ``enable_fp_fusion`` ...).
    """

    name: str
    fn: Any
    signature: dict[str, str]
    constexprs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)


def recompute_grads(
    fn: Any, inputs: Sequence[Any], grad_outputs: Tensor | Sequence[Tensor]
) -> list[Tensor | None]:
    """The pure-torch backward: re-run ``fn(*inputs)`` under autograd and differentiate it.

    Used by the custom ops' backward formulas off the Triton path. Non-tensor inputs pass
    through unchanged and get ``None``, as do inputs the output does not depend on.

    Args:
        fn: the pure-torch forward (a ``*_ref`` twin or the CPU path).
        inputs: its arguments, tensors or not (``None``, strings ...).
        grad_outputs: gradient of each output of ``fn``.

    Returns:
        One gradient (or ``None``) per input.
    """
    leaves = [t.detach().requires_grad_() if isinstance(t, Tensor) else t for t in inputs]
    with torch.enable_grad():
        out = fn(*leaves)
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    grads = tuple(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else (grad_outputs,)
    wrt = [t for t in leaves if isinstance(t, Tensor)]
    found = iter(torch.autograd.grad(outs, wrt, grads, allow_unused=True))
    return [next(found) if isinstance(t, Tensor) else None for t in leaves]
