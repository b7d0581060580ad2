"""Fused ops of the hybrid blocks, each a ``nasx::`` custom op with a pure-torch ``*_ref`` twin.

CPU runs the twins (or the FFT convolution for a time-invariant SSM); CUDA runs Triton kernels
(imported lazily; triton is optional). Import as ``nasx.kernels``, never ``kernels``.
"""

from nasx.kernels._backend import HAS_TRITON, triton_on_cpu
from nasx.kernels.causal_dwconv import causal_dwconv1d, causal_dwconv1d_ref
from nasx.kernels.fake_quant import (
    FLOAT_BITS,
    fake_quant_act,
    fake_quant_act_ref,
    fake_quant_weight,
    fake_quant_weight_ref,
    qmax_for,
    weight_scales,
)
from nasx.kernels.ssm_scan import (
    is_time_invariant,
    lti_kernel,
    ssm_lti_conv,
    ssm_scan,
    ssm_scan_ref,
    ssm_step,
)

__all__ = [
    "FLOAT_BITS",
    "HAS_TRITON",
    "TRITON_HEAD_SIZES",
    "block_diagonal_weight_hh",
    "causal_dwconv1d",
    "causal_dwconv1d_ref",
    "fake_quant_act",
    "fake_quant_act_ref",
    "fake_quant_weight",
    "fake_quant_weight_ref",
    "is_time_invariant",
    "lti_kernel",
    "qmax_for",
    "ssm_lti_conv",
    "ssm_scan",
    "ssm_scan_ref",
    "ssm_step",
    "triton_on_cpu",
    "weight_scales",
]
