"""Diagonal state-space scan: the reference twin and the CPU paths.

The recurrence (zero initial state, per channel ``e`` and state ``n``)::

    h[t] = exp(dt[t] * A) * h[t-1] + dt[t] * B[t] * x[t]        h: (Bt, E, N)
    y[t] = sum_n C[t, n] * h[t, n] + D * x[t]
    y    = y * silu(z)                                          (when a gate z is given)

``dt``, ``B`` and ``C`` are either time-invariant (``dt: (E,)``, ``B, C: (E, N)``: an S4D-style
linear time-invariant system, computable as a causal convolution) or selective
(``dt: (Bt, E, L)``, ``B, C: (Bt, N, L)``: Mamba-style, input dependent).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# Below this many steps a direct causal convolution beats the FFT on CPU.
_DIRECT_CONV_MAX_LEN = 128


def is_time_invariant(dt: Tensor, B: Tensor, C: Tensor) -> bool:
    """True when ``dt`` is per channel ``(E,)`` and ``B``, ``C`` are ``(E, N)``."""
    return dt.dim() == 1 and B.dim() == 2 and C.dim() == 2


def ssm_scan_ref(
    x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor, z: Tensor | None = None
) -> Tensor:
    """Per-step reference scan (slow, obviously correct): the twin every fast path is tested against.

    Args:
        x: input ``(Bt, E, L)``.
        dt: positive step sizes, ``(E,)`` or ``(Bt, E, L)``.
        A: negative real diagonal ``(E, N)``.
        B: input matrix, ``(E, N)`` or ``(Bt, N, L)``.
        C: output matrix, ``(E, N)`` or ``(Bt, N, L)``.
        D: skip ``(E,)``.
        z: optional gate ``(Bt, E, L)``.

    Returns:
        ``(Bt, E, L)``.
    """
    bt, e, length = x.shape
    h = x.new_zeros(bt, e, A.shape[1])  # (Bt, E, N)
    ys = []
    for t in range(length):
        dt_t = dt if dt.dim() == 1 else dt[:, :, t]  # (E,) or (Bt, E)
        dt_t = dt_t.expand(bt, e).unsqueeze(-1)  # (Bt, E, 1)
        b_t = B.unsqueeze(0) if B.dim() == 2 else B[:, :, t].unsqueeze(1)  # (1|Bt, E|1, N)
        c_t = C.unsqueeze(0) if C.dim() == 2 else C[:, :, t].unsqueeze(1)
        h = torch.exp(dt_t * A) * h + dt_t * b_t * x[:, :, t : t + 1]
        ys.append((h * c_t).sum(-1) + D * x[:, :, t])  # (Bt, E)
    y = torch.stack(ys, dim=-1)  # (Bt, E, L)
    if z is not None:
        y = y * F.silu(z)
    return y


def lti_kernel(dt: Tensor, A: Tensor, B: Tensor, C: Tensor, length: int) -> Tensor:
    """Impulse response of the time-invariant system, ``K[e, l] = sum_n C dt B exp(dt A l)``.

    Returns:
        ``(E, length)``.
    """
    steps = torch.arange(length, device=A.device, dtype=A.dtype)  # (L,)
    decay = torch.exp((dt.unsqueeze(-1) * A).unsqueeze(-1) * steps)  # (E, N, L)
    return torch.einsum("en,enl->el", C * B * dt.unsqueeze(-1), decay)


def ssm_lti_conv(
    x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor, z: Tensor | None = None
) -> Tensor:
    """Time-invariant scan as a causal convolution (direct for short sequences, FFT for long).

    Same arguments and result as :func:`ssm_scan_ref` with ``dt: (E,)``, ``B, C: (E, N)``.
    """
    length = x.shape[-1]
    k = lti_kernel(dt, A, B, C, length)  # (E, L)
    if length <= _DIRECT_CONV_MAX_LEN:
        # conv1d is a correlation: flip the kernel and pad on the left only, so it is causal.
        y = F.conv1d(F.pad(x, (length - 1, 0)), k.flip(-1).unsqueeze(1), groups=x.shape[1])
    else:
        n = 2 * length
        y = torch.fft.irfft(torch.fft.rfft(x, n=n) * torch.fft.rfft(k, n=n), n=n)[..., :length]
    y = y + D.unsqueeze(-1) * x
    if z is not None:
        y = y * F.silu(z)
    return y


def ssm_step(
    x_t: Tensor, h: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor
) -> tuple[Tensor, Tensor]:
    """One recurrent step of the time-invariant system (streaming inference).

    Args:
        x_t: ``(Bt, E)``; h: state ``(Bt, E, N)``; dt ``(E,)``; A, B, C ``(E, N)``; D ``(E,)``.

    Returns:
        ``(y_t (Bt, E), h (Bt, E, N))``, before any gate.
    """
    dtu = dt.unsqueeze(-1)  # (E, 1)
    h = torch.exp(dtu * A) * h + dtu * B * x_t.unsqueeze(-1)
    return (h * C).sum(-1) + D * x_t, h


def ssm_scan(
    x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor, z: Tensor | None = None
) -> Tensor:
    """The scan used by the SSM block: the convolution path when time-invariant, else the reference.

    Same arguments and result as :func:`ssm_scan_ref`.
    """
    if is_time_invariant(dt, B, C):
        return ssm_lti_conv(x, dt, A, B, C, D, z)
    return ssm_scan_ref(x, dt, A, B, C, D, z)
