"""The analytic cost model (no torch run): the deployment schedule of an arch, its MACs, params,
flash, peak SRAM and state in both modes, the C runtime's memory, and MCU/roofline latency
estimates.
"""
